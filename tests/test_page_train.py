"""Training page under AppTest: empty state, a refused launch, and a tiny run seen learning."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from run_helpers import make_run
from streamlit.testing.v1 import AppTest

from chemnet import paths, runs

PAGE = str(paths.ROOT / "pages" / "train.py")


@pytest.fixture
def runs_root(tmp_path, monkeypatch):
    """The page's runs folder; trainers still alive at the end are killed."""
    monkeypatch.setenv("CHEMNET_RESULTS_DIR", str(tmp_path))
    yield tmp_path / "runs"
    for info in runs.active_runs(tmp_path / "runs"):
        os.kill(info.pid, signal.SIGKILL)


def fresh_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    return at


def fill_form(at: AppTest, run_id: str, epochs: int, limit: int) -> None:
    at.number_input(key="name_epochs").set_value(epochs)
    at.number_input(key="name_batch").set_value(16)
    at.number_input(key="name_limit").set_value(limit)
    at.selectbox(key="name_device").set_value("cpu")
    at.text_input(key="name_run_id").set_value(run_id)
    at.button[0].click()
    at.run()


def captions(at: AppTest) -> str:
    return " ".join(c.value for c in at.caption)


def test_empty_page_offers_the_form_with_reference_defaults(runs_root):
    at = fresh_page()
    assert "No training runs yet" in at.info[0].value
    assert at.selectbox(key="train_task").value == "name"
    assert at.number_input(key="name_lr").value == pytest.approx(0.002)
    assert at.number_input(key="name_batch").value == 256
    assert at.number_input(key="name_epochs").value == 50
    assert at.selectbox(key="name_variant").value == "reference"
    assert "StepLR(10, 0.5)" in captions(at)


def test_image_task_has_its_own_reference_defaults(runs_root):
    at = fresh_page()
    if "image" not in at.selectbox(key="train_task").options:
        pytest.skip("the trainer registers no image task")
    at.selectbox(key="train_task").set_value("image").run()
    assert at.number_input(key="image_lr").value == pytest.approx(0.001)
    assert at.number_input(key="image_batch").value == 8
    assert at.number_input(key="image_epochs").value == 20
    assert "ReduceLROnPlateau" in captions(at)


def test_bad_run_id_is_refused_with_a_message(runs_root):
    at = fresh_page()
    fill_form(at, "../escape", 1, 40)
    assert not at.exception
    assert "invalid run id" in at.error[0].value
    assert not runs_root.exists() or not any(runs_root.iterdir())


def test_fine_tuning_without_a_shipped_model_is_refused(runs_root, tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "NAME_MODEL", tmp_path / "models" / "name2smiles.pth")
    at = fresh_page()
    at.checkbox(key="name_from_shipped").check()
    fill_form(at, "tune", 1, 40)
    assert not at.exception
    assert "no shipped name model" in at.error[0].value
    assert not runs_root.exists() or not any(runs_root.iterdir())


@pytest.mark.slow
def test_tiny_run_launched_from_the_page_shows_history_rows(runs_root, built_data, monkeypatch):
    monkeypatch.setenv("CHEMNET_DATA_DIR", str(built_data))
    at = fresh_page()
    fill_form(at, "page-run", 2, 40)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Started page-run" in at.success[0].value
    info = runs.read_run("page-run", runs_root)
    assert info.config.get("task", "name") == "name" and info.alive

    # The fragment refreshes on a timer in a browser; here each run() is one refresh.
    deadline = time.monotonic() + 300
    while "2 epoch(s) in history.csv" not in captions(at):
        assert time.monotonic() < deadline, captions(at)
        time.sleep(2)
        at.run()
        assert not at.exception, at.exception
    assert runs.read_run("page-run", runs_root).state in ("running", "finished")
    table = at.dataframe[0].value
    assert list(table["run"]) == ["page-run"]
    assert len(at.get("plotly_chart")) == 4


def test_dead_run_shows_failed_and_two_runs_compare(runs_root):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    make_run(runs_root, "crashed", pid=gone.pid, log="Traceback\nMemoryError: boom\n",
             config={"task": "name", "epochs": 3, "lr": 0.01}, updated=2000.0)
    old = make_run(runs_root, "old", state="stopped", updated=1000.0,
                   config={"task": "name", "epochs": 3, "lr": 0.002})
    (old / "history.csv").write_text("epoch,train_loss,val_loss,val_accuracy,learning_rate\n"
                                     "1,2.0,2.2,0.3,0.002\n2,1.5,1.7,0.4,0.002\n")
    at = fresh_page()
    assert at.dataframe[0].value["state"].tolist() == ["failed", "stopped"]
    assert "MemoryError: boom" in at.error[0].value

    at.multiselect(key="train_selected").set_value(["crashed", "old"]).run()
    assert not at.exception
    compare = at.dataframe[-1].value
    assert list(compare.columns) == ["crashed", "old"] and compare.index[0] == "lr"
    assert "2 epoch(s) in history.csv" in captions(at)
