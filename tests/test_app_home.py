"""AppTest over app/Home.py: navigation, the overview and building data when it is missing."""

import json
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from chemnet import dataset
from chemnet.paths import ROOT

HOME = str(ROOT / "app" / "Home.py")


@pytest.fixture
def folders(built_data, tmp_path, monkeypatch):
    """Point the app at the tiny data and at empty models/ and results/ of this test."""
    models, results = tmp_path / "models", tmp_path / "results"
    (results / "runs").mkdir(parents=True)
    models.mkdir()
    monkeypatch.setenv("CHEMNET_DATA_DIR", str(built_data))
    monkeypatch.setenv("CHEMNET_MODELS_DIR", str(models))
    monkeypatch.setenv("CHEMNET_RESULTS_DIR", str(results))
    return built_data, models, results


def run_home() -> AppTest:
    app = AppTest.from_file(HOME, default_timeout=60)
    app.run()
    assert not app.exception, app.exception
    return app


def test_overview_shows_counts_and_weight_histogram(folders):
    data, _, _ = folders
    counts = json.loads((data / "build.json").read_text())["counts"]
    app = run_home()
    shown = {metric.label: metric.value for metric in app.metric}
    assert shown["Molecules"] == f"{counts['molecules']:,}"
    assert shown["Name pairs"] == f"{counts['pairs']:,}"
    assert [shown["Train"], shown["Validation"], shown["Test"]] == [
        f"{counts[split]:,}" for split in ("train", "val", "test")
    ]
    assert len(app.get("plotly_chart")) == 1
    assert any("No model card" in info.value for info in app.info)
    assert any("No training run" in info.value for info in app.info)


def test_overview_lists_model_cards_and_runs(folders):
    _, models, results = folders
    card = {"task": "name", "config": {"variant": "reference"}, "training": {"epochs": 3},
            "test": {"token_accuracy": 0.81, "exact_match": 0.42}}
    (models / "name2smiles.json").write_text(json.dumps(card))
    run = results / "runs" / "name-test-run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"task": "name"}))
    status = {"state": "finished", "pid": None, "epoch": 3, "step": 30, "total_steps": 30,
              "updated": 1_700_000_000.0, "message": "done"}
    (run / "status.json").write_text(json.dumps(status))
    app = run_home()
    models_table, runs_table = (frame.value for frame in app.dataframe)
    assert models_table.loc[0, "model"] == "name2smiles"
    assert models_table.loc[0, "token_accuracy"] == pytest.approx(0.81)
    assert runs_table.loc[0, "run"] == "name-test-run"
    assert runs_table.loc[0, "state"] == "finished"
    assert runs_table.loc[0, "step"] == "30/30"


def test_missing_data_is_built_with_progress(folders, tmp_path, monkeypatch):
    built, _, _ = folders
    empty = tmp_path / "fresh-data"
    monkeypatch.setenv("CHEMNET_DATA_DIR", str(empty))
    reported = []

    def build(data_dir, progress, **_):
        # The real build takes minutes on the full tables; copy the tiny one in its steps.
        for fraction, message in ((0.0, "reading"), (0.5, "analysing"), (1.0, "done")):
            progress(fraction, message)
            reported.append(fraction)
        data_dir.mkdir(parents=True, exist_ok=True)
        for name in (*dataset.OUTPUTS, dataset.MANIFEST):
            shutil.copy(built / name, data_dir / name)
        return {}

    monkeypatch.setattr(dataset, "build", build)
    app = run_home()
    assert reported == [0.0, 0.5, 1.0]
    assert dataset.is_built(empty)
    assert {metric.label for metric in app.metric} >= {"Molecules", "Train", "Test"}


def test_failed_build_shows_an_error_not_a_traceback(folders, tmp_path, monkeypatch):
    monkeypatch.setenv("CHEMNET_DATA_DIR", str(tmp_path / "never-built"))

    def build(**_):
        raise OSError("identifier tables not found")

    monkeypatch.setattr(dataset, "build", build)
    app = run_home()
    assert "identifier tables not found" in app.error[0].value
    assert not app.metric


def test_navigation_reaches_the_dataset_explorer(folders):
    app = run_home()
    app.switch_page(str(ROOT / "pages" / "data.py"))
    app.run()
    assert not app.exception, app.exception
    assert app.title[0].value == "Dataset explorer"
