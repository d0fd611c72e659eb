"""The Evaluation page under AppTest: cached results render; a tiny checkpoint evaluates."""

import json
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from chemnet import evaluate, routing
from chemnet.paths import ROOT

PAGE = str(ROOT / "pages" / "evaluate.py")
VOCAB = ["<pad>", "<bos>", "<eos>", "<unk>", "C", "O", "N"]


@pytest.fixture
def dirs(built_data, tmp_path, monkeypatch):
    models, results = tmp_path / "models", tmp_path / "results"
    for folder in (models, results / "runs", results / "eval"):
        folder.mkdir(parents=True)
    monkeypatch.setenv("CHEMNET_DATA_DIR", str(built_data))
    monkeypatch.setenv("CHEMNET_MODELS_DIR", str(models))
    monkeypatch.setenv("CHEMNET_RESULTS_DIR", str(results))
    return models, results


def _cached_result(checkpoint, eval_dir, limit=500):
    """A result as evaluate_checkpoint caches it, from two hand-made predictions."""
    records = [
        {
            "input": "ethanol",
            "group": "common",
            "render_seed": None,
            "true_smiles": "CCO",
            "predicted_smiles": "CCO",
            "canonical_smiles": "CCO",
            "valid": True,
            "confidence": 0.95,
            "alternatives": [],
            "length": 3,
            "tf_correct": 4,
            "tf_total": 4,
        },
        {
            "input": "methylamine",
            "group": "iupac",
            "render_seed": None,
            "true_smiles": "CN",
            "predicted_smiles": "CO",
            "canonical_smiles": "CO",
            "valid": True,
            "confidence": 0.40,
            "alternatives": [],
            "length": 2,
            "tf_correct": 2,
            "tf_total": 3,
        },
    ]
    pairs = [([4, 4, 5, 2], [4, 4, 5, 2]), ([4, 5, 2], [4, 6, 2])]
    result = evaluate.summarise(records, pairs, VOCAB, "name")
    result.update(
        checkpoint=str(checkpoint), task="name", split="test", limit=limit, beam=1, seconds=1.0
    )
    path = evaluate.cache_path(checkpoint, "test", limit, 1, eval_dir)
    path.write_text(json.dumps(result))
    return result


def test_no_checkpoint_says_how_to_get_one(dirs):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert "No checkpoint yet" in at.info[0].value


def test_cached_result_shows_headline_heatmap_table_and_errors(dirs):
    models, results = dirs
    checkpoint = models / "name2smiles.pth"
    checkpoint.write_bytes(b"not read: the result is cached")
    _cached_result(checkpoint, results / "eval")

    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    values = {m.label: m.value for m in at.metric}
    assert values["Token accuracy"] == f"{6 / 7:.1%}"
    assert values["Exact match"] == "50.0%"
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    heatmaps = [t for spec in specs for t in spec["data"] if t["type"] == "heatmap"]
    assert heatmaps and heatmaps[0]["y"] == ["C", "<eos>", "N", "O"]
    tables = [df.value for df in at.dataframe]
    per_token = next(t for t in tables if "f1" in t.columns)
    assert list(per_token["token"]) == ["C", "<eos>", "N", "O"]
    assert "methylamine" in [m.value.strip("*") for m in at.markdown]

    at.toggle(key="eval_hide_diag").set_value(True).run()
    spec = json.loads(at.get("plotly_chart")[-1].proto.spec)
    heatmap = next(t for t in spec["data"] if t["type"] == "heatmap")
    assert heatmap["z"][0][0] is None and heatmap["customdata"][0][0] == 3  # C -> C, 3 times


def test_tiny_checkpoint_evaluates_from_the_page(dirs, tiny_name_model):
    models, results = dirs
    shutil.copy(tiny_name_model, models / "name2smiles.pth")
    at = AppTest.from_file(PAGE, default_timeout=240).run()
    assert not at.exception
    assert "no cached test evaluation" in at.info[0].value
    at.number_input(key="eval_limit").set_value(12).run()
    at.button[0].click().run()
    assert not at.exception
    assert {m.label for m in at.metric} >= {"Token accuracy", "Macro F1", "Exact match"}
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    assert any(t["type"] == "heatmap" for spec in specs for t in spec["data"])
    per_token = next(df.value for df in at.dataframe if "f1" in df.value.columns)
    assert per_token["support"].sum() > 12  # every target token of the 12 names
    assert list((results / "eval").glob("name2smiles-*-test-12-b1.json"))
    # the routing tab ran the chat engineer's rule over the store
    assert any("Routed the right way" == m.label for m in at.metric)


def test_cached_image_result_shows_drawings_and_renderer_breakdown(dirs):
    models, results = dirs
    checkpoint = models / "image2smiles.pth"
    checkpoint.write_bytes(b"not read either")
    records = [
        {
            "input": "ethanol (rdkit drawing)",
            "group": "rdkit",
            "render_seed": 0,
            "true_smiles": "CCO",
            "predicted_smiles": "CCN",
            "canonical_smiles": "CCN",
            "valid": True,
            "confidence": 0.5,
            "alternatives": [],
            "length": 3,
            "tf_correct": 3,
            "tf_total": 4,
        },
    ]
    result = evaluate.summarise(records, [([4, 4, 6, 2], [4, 4, 5, 2])], VOCAB, "image")
    result.update(checkpoint=str(checkpoint), task="image", split="test", limit=500, beam=1)
    evaluate.cache_path(checkpoint, "test", 500, 1, results / "eval").write_text(json.dumps(result))

    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert "**By drawing style**" in [m.value for m in at.markdown]
    captions = [img.caption for el in at.get("image") for img in el.proto.imgs]
    assert "input drawing (rdkit)" in captions and "true structure" in captions


def test_two_checkpoints_side_by_side(dirs):
    models, results = dirs
    shipped = models / "name2smiles.pth"
    shipped.write_bytes(b"shipped")
    run = results / "runs" / "r1" / "best.pth"
    run.parent.mkdir()
    run.write_bytes(b"a run")
    _cached_result(shipped, results / "eval")
    _cached_result(run, results / "eval")

    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.multiselect(key="eval_compare").select(run).run()
    assert not at.exception
    table = next(df.value for df in at.dataframe if "run r1" in df.value.columns)
    assert list(table.columns) == ["shipped name2smiles.pth", "run r1"]
    assert table.loc["Exact match, iupac"].tolist() == [0.0, 0.0]
    assert table.loc["Examples"].tolist() == [2, 2]


def test_a_failing_panel_leaves_the_others_working(dirs, monkeypatch):
    models, results = dirs
    checkpoint = models / "name2smiles.pth"
    checkpoint.write_bytes(b"cached")
    _cached_result(checkpoint, results / "eval")

    def broken(*args, **kwargs):
        raise RuntimeError("acceptance rule unavailable")

    monkeypatch.setattr(routing, "route", broken)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert any("acceptance rule unavailable" in e.value for e in at.error)
    assert any("Examples" in df.value.index for df in at.dataframe)  # the Compare tab after it
