"""Predictor and CLI on a tiny trained checkpoint; shipping a run."""

import json

import pytest
import torch

from chemnet import chem, paths, predict, ship, train
from chemnet.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from chemnet.tokenizer import BOS_ID
from tiny_names import tiny_pairs, write_tiny_data

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict")
    data = write_tiny_data(root / "data")
    args = ["--task", "name", "--variant", "attention", "--data-dir", str(data), "--runs-dir",
            str(root / "runs"), "--run-id", "tiny", "--epochs", "3", "--batch-size", "8",
            "--model-arg", "hidden=32", "--model-arg", "embed=16", "--val-exact", "0",
            "--num-threads", "1"]
    assert train.main(args) == 0
    return root / "runs" / "tiny"


@pytest.fixture(scope="module")
def predictor(run):
    return predict.load_predictor(run / "best.pth")


def test_predictions_in_input_order(predictor):
    names = ["propan-1-ol", "a much longer name than the others, for sorting", "", "ethane"]
    out = predictor.predict(names)
    assert [p.input for p in out] == names
    for p in out:
        assert 0.0 <= p.confidence <= 1.0
        assert p.valid == (chem.canonical_smiles(p.smiles) is not None)
        assert p.canonical_smiles == (chem.canonical_smiles(p.smiles) if p.valid else None)
        assert p.alternatives == []


def test_beam_gives_alternatives(predictor):
    (p,) = predictor.predict(["butanoic acid"], beam=3)
    assert 1 <= len(p.alternatives) <= 2
    assert all(isinstance(s, str) and 0 <= c <= 1 for s, c in p.alternatives)
    assert set(p.to_dict()) >= {"input", "smiles", "canonical_smiles", "valid", "confidence",
                                "alternatives"}


def test_teacher_forced_pairs(predictor):
    targets = ["CCO", "CCCC(=O)O"]
    pairs = predictor.teacher_forced(["ethan-1-ol", "butanoic acid"], targets)
    for (pred, gold), smiles in zip(pairs, targets):
        expected = predictor.target.encode(smiles, eos=True)
        assert gold == expected and len(pred) == len(gold)
        assert BOS_ID not in gold
    assert predictor.target_vocab[BOS_ID] == "<bos>"


def test_bad_checkpoints(run, tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        predict.load_predictor(tmp_path / "none.pth")
    ckpt = load_checkpoint(run / "best.pth")
    ckpt["config"] = dict(ckpt["config"], task="smell")
    save_checkpoint(ckpt, tmp_path / "smell.pth")
    with pytest.raises(CheckpointError, match="no predictor for task 'smell'"):
        predict.load_predictor(tmp_path / "smell.pth")


def test_cli_file_json_in_order(run, tmp_path, capsys):
    names = tiny_pairs()["name"].tolist()[:5]
    (tmp_path / "names.txt").write_text("\n".join(names) + "\n")
    code = predict.main(["name", "--file", str(tmp_path / "names.txt"), "--json",
                         "--model", str(run / "best.pth")])
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 0 and [json.loads(line)["input"] for line in lines] == names


def test_cli_plain_and_missing_model(run, tmp_path, capsys):
    assert predict.main(["name", "hexane", "--model", str(run / "best.pth")]) == 0
    assert capsys.readouterr().out.startswith("hexane\t")
    assert predict.main(["name", "hexane", "--model", str(tmp_path / "x.pth")]) == 2
    assert "checkpoint not found" in capsys.readouterr().err


def test_ship_copies_history_and_card(run, tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "MODELS_DIR", tmp_path / "models")
    monkeypatch.setattr(paths, "RESULTS_DIR", tmp_path / "results")
    card = ship.ship("tiny", "name", runs_dir=run.parent, evaluate=False)
    shipped = load_checkpoint(tmp_path / "models" / "name2smiles.pth")
    assert shipped["epoch"] == card["training"]["epochs"] >= 1
    saved = json.loads((tmp_path / "models" / "name2smiles.json").read_text())
    assert saved["task"] == "name" and saved["config"]["variant"] == "attention"
    assert saved["data"]["train_pairs"] > 0 and saved["training"]["seconds"] > 0
    header = (tmp_path / "results" / "training_history.csv").read_text().splitlines()[0]
    assert header == "epoch,train_loss,val_loss,val_accuracy,learning_rate"
    with pytest.raises(CheckpointError, match="not 'image'"):
        ship.ship("tiny", "image", runs_dir=run.parent, evaluate=False)


def test_shipping_a_fine_tuned_run_continues_the_shipped_history(run, tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "MODELS_DIR", tmp_path / "models")
    monkeypatch.setattr(paths, "RESULTS_DIR", tmp_path / "results")
    parent = ship.ship("tiny", "name", runs_dir=run.parent, evaluate=False)
    shipped = tmp_path / "models" / "name2smiles.pth"
    data = run.parent.parent / "data"
    args = ["--task", "name", "--data-dir", str(data), "--runs-dir", str(tmp_path / "runs"),
            "--run-id", "tuned", "--epochs", "2", "--batch-size", "8", "--val-exact", "0",
            "--num-threads", "1", "--init-from", str(shipped)]
    assert train.main(args) == 0
    card = ship.ship("tuned", "name", runs_dir=tmp_path / "runs", evaluate=False)
    history = (tmp_path / "results" / "training_history.csv").read_text().splitlines()[1:]
    epochs = [int(line.split(",")[0]) for line in history]
    assert epochs == list(range(1, parent["training"]["epochs"] + 3))
    assert card["training"]["epochs"] == parent["training"]["epochs"] + 2
    assert card["fine_tuned_from"]["run_id"] == "tiny"
    assert card["fine_tuned_from"]["lineage"] == ["tiny"]


def test_shipping_a_run_started_from_another_run_continues_that_runs_history(
    run, tmp_path, monkeypatch
):
    monkeypatch.setattr(paths, "MODELS_DIR", tmp_path / "models")
    monkeypatch.setattr(paths, "RESULTS_DIR", tmp_path / "results")
    first = load_checkpoint(run / "best.pth")
    data = run.parent.parent / "data"
    args = ["--task", "name", "--data-dir", str(data), "--runs-dir", str(tmp_path / "runs"),
            "--run-id", "second", "--epochs", "2", "--batch-size", "8", "--val-exact", "0",
            "--num-threads", "1", "--init-from", str(run / "best.pth")]
    assert train.main(args) == 0
    card = ship.ship("second", "name", runs_dir=tmp_path / "runs", evaluate=False)
    history = (tmp_path / "results" / "training_history.csv").read_text().splitlines()[1:]
    epochs = [int(line.split(",")[0]) for line in history]
    assert epochs == list(range(1, int(first["epoch"]) + 3))
    assert card["training"]["epochs"] == int(first["epoch"]) + 2
    assert card["fine_tuned_from"]["run_id"] == "tiny"
    assert card["fine_tuned_from"]["lineage"] == ["tiny"]
