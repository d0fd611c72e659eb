"""Summaries of the built data and of the shipped models' cards."""

import json

from chemnet import catalog


def test_data_summary_reads_the_manifest(tmp_path):
    assert catalog.data_summary(tmp_path) is None
    (tmp_path / "build.json").write_text('{"counts": {"molecules": 5')  # half written
    assert catalog.data_summary(tmp_path) is None
    manifest = {"counts": {"molecules": 5, "train": 3}, "seconds": 2.5, "limit": None}
    (tmp_path / "build.json").write_text(json.dumps(manifest))
    assert catalog.data_summary(tmp_path) == {"counts": {"molecules": 5, "train": 3},
                                              "seconds": 2.5, "limit": None}


def test_model_cards_flatten_headline_metrics(tmp_path):
    card = {
        "task": "name",
        "config": {"variant": "attention"},
        "training": {"epochs": 12, "seconds": 90.0, "val": {"val_accuracy": 0.8}},
        "shipped": "2026-12-03T17:00:12",
        "test": {"token_accuracy": 0.9, "exact_match": 0.5, "by_kind": {"iupac": 0.7}},
    }
    (tmp_path / "name2smiles.json").write_text(json.dumps(card))
    (tmp_path / "name2smiles.pth").write_bytes(b"")
    (tmp_path / "image2smiles.json").write_text(json.dumps({"task": "image", "test": None}))
    (tmp_path / "name2smiles.calibration.json").write_text('{"threshold": 0.5}')
    (tmp_path / "broken.json").write_text("{not json")
    rows = catalog.model_cards(tmp_path)
    assert [row["model"] for row in rows] == ["image2smiles", "name2smiles"]
    image, name = rows
    assert name == {"model": "name2smiles", "task": "name", "variant": "attention",
                    "epochs": 12, "training_min": 1.5, "shipped": "2026-12-03T17:00:12",
                    "checkpoint": True, "val_accuracy": 0.8, "token_accuracy": 0.9,
                    "exact_match": 0.5}
    assert image["checkpoint"] is False and image["variant"] is None


def test_model_cards_of_a_missing_folder(tmp_path):
    assert catalog.model_cards(tmp_path / "nowhere") == []
