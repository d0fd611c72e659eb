"""The image predictor and CLI on a checkpoint trained for a few steps by the shared trainer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from chemnet import chem, render

ROOT = Path(__file__).resolve().parent.parent
SMILES = ["CCO", "CC(=O)O", "c1ccccc1O", "CCN", "CC(C)O", "OCC(O)CO", "CC=O", "c1ccncc1",
          "CCCl", "CS", "CC(N)=O", "C1CCCCC1"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A tiny image model trained one epoch on twelve small molecules."""
    from chemnet import train

    root = tmp_path_factory.mktemp("image")
    rows = []
    for i, smiles in enumerate(SMILES):
        mol = chem.parse_smiles(smiles)
        rows.append({"name": f"molecule {i}", "smiles": smiles, "formula": chem.formula(mol),
                     "mw": chem.mol_weight(mol),
                     "heavy_atoms": mol.GetNumHeavyAtoms(),
                     "split": "val" if i % 4 == 3 else "train"})
    (root / "data").mkdir()
    pd.DataFrame(rows).to_parquet(root / "data" / "molecules.parquet")
    code = train.main([
        "--task", "image", "--variant", "fast", "--model-arg", "image_size=32",
        "--model-arg", "hidden=16", "--model-arg", "embed=8", "--epochs", "1",
        "--batch-size", "4", "--data-dir", str(root / "data"), "--runs-dir", str(root / "runs"),
        "--run-id", "tiny", "--num-threads", "1", "--val-exact", "2", "--variants", "1",
    ])
    assert code == 0
    run = root / "runs" / "tiny"
    assert (run / "history.csv").exists() and (run / "best.pth").exists()
    return run / "best.pth"


@pytest.fixture(scope="module")
def data_dir(checkpoint) -> Path:
    return checkpoint.parent.parent.parent / "data"


@pytest.fixture(scope="module")
def predictor(checkpoint):
    from chemnet.predict import load_predictor

    return load_predictor(checkpoint)


def test_predictor_reads_pil_images_paths_and_formulas(predictor, tmp_path):
    grey = tmp_path / "grey.png"
    render.render("CCO").save(grey)
    colour = tmp_path / "colour.jpg"
    render.render("CCN", render.Style(colour=True, size=500)).save(colour, quality=50)
    images = [render.render("CC=O"), str(grey), colour]
    out = predictor.predict(images, formulas=[None, "C2H6O", None])
    assert [p.input for p in out] == ["image", str(grey), str(colour)]
    for p in out:
        assert 0.0 <= p.confidence <= 1.0
        assert p.valid == (p.canonical_smiles is not None)
    assert len(predictor.predict(images[:1], beam=3)[0].alternatives) <= 2


def test_predictor_rejects_bad_inputs(predictor, tmp_path):
    text = tmp_path / "x.png"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a readable image"):
        predictor.predict([text])
    with pytest.raises(ValueError, match="not a molecular formula"):
        predictor.predict([render.render("CCO")], formulas=["ethanol"])


def test_teacher_forced_pairs_have_target_lengths(predictor):
    pairs = predictor.teacher_forced([render.render("CCO"), render.render("CC(=O)O")],
                                     ["CCO", "CC(=O)O"])
    assert [len(t) for _, t in pairs] == [4, 8]  # tokens + <eos>
    assert all(len(p) == len(t) for p, t in pairs)
    assert predictor.target_vocab[0] == "<pad>"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chemnet.predict", "image", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_cli_as_a_module_prints_json(checkpoint, tmp_path):
    good = tmp_path / "mol.png"
    render.render("CCO").save(good)
    done = run_cli(str(good), "--model", str(checkpoint), "--json", "--formula", "C2H6O")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "ok"


def test_cli_file_list_and_errors(checkpoint, tmp_path, capsys):
    from chemnet.predict import main

    good = tmp_path / "mol.png"
    render.render("CCO").save(good)
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    listing = tmp_path / "paths.txt"
    listing.write_text(f"{good}\n{tmp_path / 'missing.png'}\n{bad}\n{good}\tC2H6O\n")

    assert main(["image", str(bad), "--model", str(checkpoint)]) == 2
    assert "not a readable image" in capsys.readouterr().err

    assert main(["image", "--file", str(listing), "--model", str(checkpoint), "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["status"] for r in records] == ["ok", "error", "error", "ok"]
    assert records[1]["input"].endswith("missing.png") and "no such file" in records[1]["error"]
    assert records[3]["input"] == str(good)

    assert main(["image", str(good), "--model", str(tmp_path / "none.pth")]) == 2
    assert "checkpoint" in capsys.readouterr().err


def test_formula_evaluation_scores_both_ways(checkpoint, data_dir):
    from chemnet.image_eval import evaluate_formula

    result = evaluate_formula(checkpoint, split="val", limit=2, data_dir=data_dir, max_atoms=10)
    assert result["n"] == 2
    for block in ("without_formula", "with_formula"):
        figures = result[block]
        assert 0.0 <= figures["token_accuracy"] <= 1.0 and 0.0 <= figures["exact_match"] <= 1.0
        assert 0.0 <= figures["validity"] <= 1.0 and figures["seconds_per_image"] > 0
