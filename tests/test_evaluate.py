"""Evaluation: example sampling, figures from known predictions, the CLI on a tiny checkpoint."""

import json
import os
import subprocess
import sys
from contextlib import nullcontext
from types import SimpleNamespace

import pandas as pd
import pytest

from chemnet import chem, eval_data, evaluate, paths, routing
from chemnet.paths import ROOT

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
        "input": name,
        "group": kind,
        "render_seed": None,
        "true_smiles": true,
        "predicted_smiles": predicted,
        "canonical_smiles": predicted if valid else None,
        "valid": valid,
        "confidence": 0.9,
        "alternatives": [],
        "length": len(true),
        "tf_correct": tf_correct,
        "tf_total": tf_total,
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
        "n": 2,
        "exact_match": 0.5,
        "token_accuracy": 6 / 7,
        "validity": 1.0,
        "tanimoto": pytest.approx(result["records"][1]["tanimoto"] / 2 + 0.5),
        # classes <eos>, C, O, N: F1 1, 1, 2/3 (O predicted twice, once right), 0
        "macro_f1": pytest.approx(2 / 3),
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


def _env(data_dir, results_dir):
    env = dict(os.environ)
    env.update(CHEMNET_DATA_DIR=str(data_dir), CHEMNET_RESULTS_DIR=str(results_dir))
    return env


def _cli(*args, env):
    cmd = [sys.executable, "-m", "chemnet.evaluate", *args]
    return subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_cli_on_tiny_checkpoint_prints_figures_and_caches(
    tiny_name_model, built_data, tmp_path, monkeypatch, capsys
):
    env = _env(built_data, tmp_path / "results")
    done = _cli("--model", str(tiny_name_model), "--limit", "24", "--json", env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["task"] == "name" and summary["split"] == "test" and summary["n"] == 24
    for key in evaluate.HEADLINE:
        assert 0.0 <= summary[key] <= 1.0, key
    assert sum(group["n"] for group in summary["by_kind"].values()) == 24

    cached = list((tmp_path / "results" / "eval").glob("name2smiles-*-test-24-b1.json"))
    assert len(cached) == 1
    result = json.loads(cached[0].read_text())
    # The headline agrees with the per-example records it was computed from.
    records = result["records"]
    tokens = sum(r["tf_total"] for r in records)
    assert result["tokens"] == tokens
    assert result["token_accuracy"] == pytest.approx(sum(r["tf_correct"] for r in records) / tokens)
    assert result["exact_match"] == pytest.approx(sum(r["correct"] for r in records) / 24)
    assert sum(row["support"] for row in result["per_token"]) == tokens

    # The plain-text report, in process: it comes from the cache the first call wrote.
    monkeypatch.setattr(paths, "EVAL_DIR", tmp_path / "results" / "eval")
    monkeypatch.setattr(paths, "DATA_DIR", tmp_path / "no-data-needed")
    assert evaluate.main(["--model", str(tiny_name_model), "--limit", "24"]) == 0
    out = capsys.readouterr().out
    assert f"token_accuracy         {result['token_accuracy']:.4f}" in out
    assert "reference baseline" in out


def test_evaluate_checkpoint_reuses_the_cache(tiny_name_model, built_data, tmp_path):
    first = evaluate.evaluate_checkpoint(tiny_name_model, "val", 8, built_data, cache_dir=tmp_path)
    again = evaluate.evaluate_checkpoint(tiny_name_model, "val", 8, built_data, cache_dir=tmp_path)
    assert again["created"] == first["created"] and again["split"] == "val"
    assert evaluate.cached_result(tiny_name_model, "val", 8, cache_dir=tmp_path) == again


def test_cli_explains_a_missing_checkpoint(built_data, tmp_path):
    done = _cli("--model", str(tmp_path / "nope.pth"), env=_env(built_data, tmp_path))
    assert done.returncode == 2
    assert "checkpoint not found" in done.stderr and "Traceback" not in done.stderr


def _outcome(name, group, predicted, valid, confidence, correct):
    """An evaluated example whose target is ethanol."""
    record = _record(name, group, "CCO", predicted, valid, 1, 1)
    return record | {"confidence": confidence, "correct": correct}


def test_routing_matrix_counts_both_kinds_of_mistake():
    records = [
        _outcome("a", "common", "CCO", True, 0.9, True),
        _outcome("b", "common", "CCN", True, 0.9, False),
        _outcome("c", "common", "CCO", True, 0.2, True),
        _outcome("d", "common", "C1C", False, 0.9, False),
    ]
    routed = routing.route(records, threshold=0.5)  # the chat engineer's rule, no store
    assert [r["accepted"] for r in routed] == [True, True, False, False]
    table = routing.routing_matrix(routed)
    assert table["counts"] == {
        "accepted": {"correct": 1, "wrong": 1},
        "rejected": {"correct": 1, "wrong": 1},
    }
    assert table["precision"] == 0.5 and table["recall"] == 0.5
    assert table["routing_accuracy"] == 0.5
    assert sum(table["reasons"].values()) == 4


def test_routing_checks_each_answer_against_its_store_match():
    compound = SimpleNamespace(inchikey=chem.inchikey_from_smiles("CCO"))
    ethanol = SimpleNamespace(how="name", compound=compound)
    records = [
        _record("ethanol", "common", "CCO", "CCO", True, 1, 1) | {"correct": True},
        _record("ethanol", "common", "CCO", "CCN", True, 1, 1) | {"correct": False},
    ]
    matches = routing.store_matches(records, lambda name: ethanol)
    routed = routing.route(records, threshold=0.5, matches=matches)
    assert [r["accepted"] for r in routed] == [True, False]  # the second disagrees with the store
    assert routing.routing_matrix(routed)["routing_accuracy"] == 1.0


@pytest.mark.parametrize("args", [["--limit", "0"], ["--beam", "0"], ["--split", "dev"]])
def test_cli_rejects_bad_arguments_without_a_traceback(args, capsys):
    with pytest.raises(SystemExit) if args[0] == "--split" else nullcontext():
        code = evaluate.main(["--model", "whatever.pth", *args])
        assert code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip()


def test_pick_errors_filters_by_group_and_kind_most_confident_first():
    records = [
        _outcome("a", "iupac", "CCN", True, 0.3, False),
        _outcome("b", "iupac", "C1C", False, 0.9, False),
        _outcome("c", "common", "CCC", True, 0.8, False),
        _outcome("d", "iupac", "CCO", True, 0.99, True),
    ]
    pick = evaluate.pick_errors
    assert [r["input"] for r in pick(records)] == ["b", "c", "a"]
    assert [r["input"] for r in pick(records, "iupac")] == ["b", "a"]
    assert [r["input"] for r in pick(records, kind="invalid SMILES")] == ["b"]
    assert [r["input"] for r in pick(records, kind="valid, wrong molecule", count=1)] == ["c"]
    with pytest.raises(ValueError, match="unknown error kind"):
        pick(records, kind="typo")
