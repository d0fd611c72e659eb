"""The image model: formula features, shapes, one decode step, learning, checkpoint round trip."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from chemnet.checkpoint import load_checkpoint, save_checkpoint
from chemnet.decode import beam_search, greedy_decode
from chemnet.nets.image_model import (
    DESC_SIZE,
    ELEMENTS,
    build_image_model,
    formula_features,
    model_settings,
)
from chemnet.tasks.image import DrawingDataset, ImageTask
from chemnet.tokenizer import PAD_ID, Vocab

TINY = {"image_size": 32, "channels": (4, 8), "depth": 1, "embed": 8, "hidden": 16}
SMILES = ["CCO", "c1ccccc1O", "CC(=O)O", "CN"]
FORMULAS = ["C2H6O", "C6H6O", "C2H4O2", "CH5N"]


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)
    torch.manual_seed(0)


def test_formula_features_count_atoms_and_flag_presence():
    feats = formula_features("C8H10N4O2")
    assert len(feats) == DESC_SIZE
    assert feats[ELEMENTS.index("C")] == pytest.approx(0.8)
    assert feats[ELEMENTS.index("N")] == pytest.approx(0.4)
    assert feats[-2] == pytest.approx(194.19 / 300, abs=0.01)  # MW from the formula
    assert feats[-1] == 1.0
    assert formula_features("C7H16NO3+")[ELEMENTS.index("O")] == pytest.approx(0.3)
    assert formula_features("CNa")[len(ELEMENTS)] == pytest.approx(0.1)  # "other" atoms
    assert formula_features(None) == [0.0] * DESC_SIZE
    with pytest.raises(ValueError, match="not a molecular formula"):
        formula_features("caffeine")


def test_variants_and_unknown_variant():
    assert model_settings("reference")["image_size"] == 224
    assert model_settings("fast", {"hidden": 64})["hidden"] == 64
    with pytest.raises(ValueError, match="unknown image-model variant"):
        model_settings("huge")


def test_grid16_attends_over_a_finer_grid_than_fast():
    images = torch.rand(1, 1, 128, 128)
    cells = {v: build_image_model(v, 12).encoder(images).shape[1] for v in ("fast", "grid16")}
    assert cells == {"fast": 8 * 8, "grid16": 16 * 16}


def test_fed_decoder_starts_from_a_plain_models_weights_and_decodes_stepwise():
    plain = build_image_model("reference", 12, **TINY).eval()
    fed = build_image_model("reference", 12, **TINY, input_feed=True).eval()
    fed.load_state_dict(plain.state_dict())  # strict: every weight finds its place
    images, desc = torch.rand(3, 1, 32, 32), torch.zeros(3, DESC_SIZE)
    tgt = torch.randint(4, 12, (3, 7))
    with torch.no_grad():
        # Zero weights on the fed input: the converted model computes what the plain one did.
        assert torch.allclose(fed(images, desc, tgt), plain(images, desc, tgt), atol=1e-5)
        torch.nn.init.normal_(fed.cell.weight_ih)  # now it uses what it attended
        whole = fed(images, desc, tgt)
        state, steps = fed.encode(images, desc), []
        for t in range(tgt.size(1)):
            logits, state = fed.step(tgt[:, t], state)
            steps.append(logits)
    assert not torch.allclose(whole, plain(images, desc, tgt), atol=1e-3)
    assert torch.allclose(torch.stack(steps, dim=1), whole, atol=1e-5)


def test_forward_encode_and_step_shapes():
    model = build_image_model("fast", 20, **TINY).eval()
    images = torch.rand(3, 1, 32, 32)
    desc = torch.zeros(3, DESC_SIZE)
    tgt = torch.randint(4, 20, (3, 7))
    assert model(images, desc, tgt).shape == (3, 7, 20)
    assert model(images, None, tgt).shape == (3, 7, 20)
    state = model.encode(images, desc)
    assert state["memory"].shape == (3, 64, 16)  # stem /2, one pool /2: 8 x 8 cells
    logits, state = model.step(torch.ones(3, dtype=torch.long), state)
    assert logits.shape == (3, 20) and state["h"].shape == (3, 1, 16)


def test_step_by_step_matches_teacher_forcing():
    model = build_image_model("fast", 12, **TINY).eval()
    images, tgt = torch.rand(2, 1, 32, 32), torch.randint(4, 12, (2, 5))
    full = model(images, None, tgt)
    state = model.encode(images, None)
    for t in range(5):
        logits, state = model.step(tgt[:, t], state)
        assert torch.allclose(logits, full[:, t], atol=1e-5)


def test_greedy_and_beam_decode_run_on_the_model():
    model = build_image_model("fast", 12, **TINY).eval()
    images, desc = torch.rand(2, 1, 32, 32), torch.zeros(2, DESC_SIZE)
    greedy = greedy_decode(model, images, desc, max_len=6)
    beams = beam_search(model, images, desc, beam=3, max_len=6)
    assert len(greedy) == 2 and all(0 < d.confidence <= 1 for d in greedy)
    assert len(beams) == 2 and 1 <= len(beams[0]) <= 3


def make_task(frame: pd.DataFrame) -> tuple[ImageTask, DrawingDataset]:
    config = {**ImageTask.defaults(), "variant": "fast", "model": dict(TINY), "seed": 0}
    task = ImageTask(config)
    task.target = Vocab.build(frame["smiles"], "smiles")
    data = DrawingDataset(frame, task.target, 32, variants=2, augment=True, desc_keep=0.5)
    return task, data


def tiny_frame() -> pd.DataFrame:
    return pd.DataFrame({"smiles": SMILES, "formula": FORMULAS, "mw": [46.1, 94.1, 60.1, 31.1]})


def test_dataset_items_collate_and_cache():
    task, data = make_task(tiny_frame())
    image, desc, tgt, counts = data[1]
    assert image.dtype == torch.uint8 and image.shape == (32, 32)
    assert desc.shape == (DESC_SIZE,) and tgt[0].item() == 1  # <bos>
    assert counts[ELEMENTS.index("C")].item() == pytest.approx(0.6)  # never masked
    data[1]
    assert len(data.cache) == 2  # two visits, two cached variants
    batch = task.collate([data[i] for i in range(4)])
    assert batch["images"].shape == (4, 1, 32, 32)
    assert batch["tgt"].shape[0] == 4 and (batch["tgt"] == PAD_ID).any()


def test_a_few_steps_lower_the_loss():
    task, data = make_task(tiny_frame())
    model = task.build_model()
    batch = task.collate([data[i] for i in range(4)])
    optimizer = torch.optim.Adam(model.parameters(), lr=0.03)
    first, _ = task.loss(model, batch)
    for _ in range(10):
        loss, counts = task.loss(model, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < first.item() * 0.8
    assert counts["samples"] == 4 and 0 <= counts["correct"] <= counts["tokens"]


def test_count_head_learns_atom_counts_and_loads_weights_without_one():
    frame = tiny_frame()
    task, data = make_task(frame)
    task.config["model"] = {**TINY, "count_head": 1}
    model = task.build_model()
    plain = build_image_model("fast", len(task.target), **TINY)
    model.load_state_dict(plain.state_dict())  # an older checkpoint keeps the fresh head
    batch = task.collate([data[i] for i in range(4)])
    optimizer = torch.optim.Adam(model.parameters(), lr=0.03)

    def count_error() -> float:
        with torch.no_grad():
            state = model.encode(batch["images"].float() / 255.0, None)
            return float(((model.count_atoms(state) - batch["counts"]) ** 2).mean())

    before = count_error()
    for _ in range(15):
        loss, _ = task.loss(model, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert count_error() < before * 0.5
    with pytest.raises(ValueError, match="no count head"):
        plain.count_atoms(plain.encode(torch.rand(1, 1, 32, 32)))


def test_checkpoint_round_trip_gives_identical_outputs(tmp_path):
    model = build_image_model("fast", 12, **TINY).eval()
    images, tgt = torch.rand(2, 1, 32, 32), torch.randint(4, 12, (2, 5))
    ckpt = {"model_state_dict": model.state_dict(), "optimizer_state_dict": {},
            "scheduler_state_dict": {}, "vocab": {"source": None, "target": {}},
            "config": {"task": "image", "variant": "fast", "model": dict(TINY)}, "epoch": 0,
            "metrics": {}}
    path = save_checkpoint(ckpt, tmp_path / "tiny.pth")
    again = build_image_model("fast", 12, **load_checkpoint(path)["config"]["model"]).eval()
    again.load_state_dict(load_checkpoint(path)["model_state_dict"])
    assert torch.equal(model(images, None, tgt), again(images, None, tgt))
