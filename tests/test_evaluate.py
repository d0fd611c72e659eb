"""Evaluation: example sampling, figures from known predictions, the CLI on a tiny checkpoint."""

import pandas as pd
import pytest

from chemnet import eval_data, evaluate

VOCAB = ["<pad>", "<bos>", "<eos>", "<unk>", "C", "O", "N"]


def _names_parquet(folder):
    rows = [
        ("ethanol", "common", "CCO", "test"),
        ("ethan-1-ol", "iupac", "CCO", "test"),
        ("methylamine", "common", "CN", "test"),
        ("propane", "iupac", "CCC", "test"),
        ("methanol", "common", "CO", "train"),
    ]
    frame = pd.DataFrame(rows, columns=["name", "kind", "smiles", "split"])
    frame.to_parquet(folder / "names.parquet")


def test_load_takes_the_split_and_a_fixed_sample(tmp_path):
    _names_parquet(tmp_path)
    frame = eval_data.load("name", "test", None, tmp_path)
    assert frame["input"].tolist() == ["ethanol", "ethan-1-ol", "methylamine", "propane"]
    assert set(frame["group"]) == {"common", "iupac"}
    first = eval_data.load("name", "test", 2, tmp_path)
    again = eval_data.load("name", "test", 2, tmp_path)
    assert len(first) == 2 and first.equals(again)


def test_load_explains_bad_split_and_missing_data(tmp_path):
    with pytest.raises(ValueError, match="unknown split"):
        eval_data.load("name", "dev", None, tmp_path)
    with pytest.raises(FileNotFoundError, match="chemnet.data build"):
        eval_data.load("name", "test", None, tmp_path)


def _record(name, kind, true, predicted, valid, tf_correct, tf_total):
    return {
        "input": name, "group": kind, "render_seed": None, "true_smiles": true,
        "predicted_smiles": predicted, "canonical_smiles": predicted if valid else None,
        "valid": valid, "confidence": 0.9, "alternatives": [], "length": len(true),
        "tf_correct": tf_correct, "tf_total": tf_total,
    }


def test_summarise_figures_by_hand():
    # ids: C=4 O=5 N=6 <eos>=2; targets with <eos>, padding (0) ignored
    records = [
        _record("ethanol", "common", "CCO", "OCC", True, 4, 4),  # same molecule, other spelling
        _record("methylamine", "common", "CN", "CO", True, 2, 3),
        _record("propane", "iupac", "CCC", "C1C", False, 3, 4),  # invalid SMILES
    ]
    pairs = [
        ([4, 4, 5, 2], [4, 4, 5, 2]),
        ([4, 5, 2, 0], [4, 6, 2, 0]),
        ([4, 4, 5, 2], [4, 4, 4, 2]),
    ]
    result = evaluate.summarise(records, pairs, VOCAB, "name")
    assert result["tokens"] == 11
    assert result["token_accuracy"] == pytest.approx(9 / 11)
    assert result["exact_match"] == pytest.approx(1 / 3)
    assert result["validity"] == pytest.approx(2 / 3)
    assert [r["correct"] for r in result["records"]] == [True, False, False]
    assert [e["input"] for e in result["errors"]] == ["methylamine", "propane"]
    assert result["by_kind"]["common"] == {
        "n": 2, "exact_match": 0.5, "token_accuracy": 6 / 7, "validity": 1.0,
        "tanimoto": pytest.approx(result["records"][1]["tanimoto"] / 2 + 0.5),
    }
    assert result["by_kind"]["iupac"]["validity"] == 0.0
    assert result["confusion"]["labels"][0] == "C"
    assert sum(map(sum, result["confusion"]["matrix"])) == 11
    assert sum(result["tanimoto_histogram"]["counts"]) == 3
    assert "by_renderer" not in result


def test_cache_key_changes_with_content_split_and_limit(tmp_path):
    ckpt = tmp_path / "m.pth"
    ckpt.write_bytes(b"one")
    key = evaluate.cache_path(ckpt, "test", 500, 1, tmp_path)
    assert key.name.startswith("m-") and key.name.endswith("-test-500-b1.json")
    assert evaluate.cache_path(ckpt, "test", None, 1, tmp_path).name.endswith("-test-all-b1.json")
    assert evaluate.cache_path(ckpt, "val", 500, 1, tmp_path) != key
    ckpt.write_bytes(b"two, longer")
    assert evaluate.cache_path(ckpt, "test", 500, 1, tmp_path) != key
    assert evaluate.cached_result(ckpt, "test", 500, cache_dir=tmp_path) is None
