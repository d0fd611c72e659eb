"""Name models: forward shapes, one decode step, checkpoint save/load gives identical outputs."""

import pytest
import torch

from chemnet.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from chemnet.nets.name_model import VARIANTS, build_name_model, model_settings

torch.set_num_threads(1)
SRC_V, TGT_V = 30, 20
SMALL = {"embed": 16, "hidden": 32, "d_model": 32, "heads": 2, "ff": 64, "layers": 1}


def batch(b=3, s=7, t=5):
    torch.manual_seed(0)
    src = torch.randint(4, SRC_V, (b, s))
    src[0, 5:] = 0  # padding in the first row
    return src, torch.tensor([5] + [s] * (b - 1)), torch.randint(4, TGT_V, (b, t))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_forward_shape(variant):
    model = build_name_model(variant, SRC_V, TGT_V, **SMALL).eval()
    src, src_len, tgt = batch()
    assert model(src, src_len, tgt).shape == (3, 5, TGT_V)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_step_matches_teacher_forcing(variant):
    model = build_name_model(variant, SRC_V, TGT_V, **SMALL).eval()
    src, src_len, tgt = batch()
    with torch.no_grad():
        full = model(src, src_len, tgt)
        state = model.encode(src, src_len)
        for t in range(tgt.size(1)):
            logits, state = model.step(tgt[:, t], state)
            assert logits.shape == (3, TGT_V)
            assert torch.allclose(logits, full[:, t], atol=1e-5)
    assert all(v.size(0) == 3 for v in state.values())


def test_reference_sizes_are_the_reference_design():
    model = build_name_model("reference", SRC_V, TGT_V)
    assert model.src_embed.embedding_dim == 128
    assert model.encoder.hidden_size == 256 and model.decoder.hidden_size == 256
    assert model.out.out_features == TGT_V


def test_unknown_variant():
    with pytest.raises(ValueError, match="unknown name-model variant"):
        model_settings("nope")


def checkpoint_of(model):
    return {
        "model_state_dict": model.state_dict(),
        "optimizer_state_dict": {},
        "scheduler_state_dict": {},
        "vocab": {"source": {"kind": "chars", "tokens": []}, "target": {}},
        "config": {"task": "name", "variant": "attention", "model": SMALL},
        "epoch": 1,
        "metrics": {"val_loss": 1.0},
    }


def test_checkpoint_round_trip_identical_outputs(tmp_path):
    model = build_name_model("attention", SRC_V, TGT_V, **SMALL).eval()
    path = save_checkpoint(checkpoint_of(model), tmp_path / "m.pth")
    loaded = load_checkpoint(path)
    again = build_name_model("attention", SRC_V, TGT_V, **SMALL).eval()
    again.load_state_dict(loaded["model_state_dict"])
    src, src_len, tgt = batch()
    with torch.no_grad():
        assert torch.equal(model(src, src_len, tgt), again(src, src_len, tgt))
    assert not list(tmp_path.glob("*.tmp"))


def test_checkpoint_errors(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(tmp_path / "junk.pth")
    torch.save({"config": {"task": "name"}}, tmp_path / "partial.pth")
    with pytest.raises(CheckpointError, match="lacks keys: model_state_dict"):
        load_checkpoint(tmp_path / "partial.pth")
