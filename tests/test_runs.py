"""Run registry: safe ids, reading run folders, dead or recycled processes, logs, progress."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pandas as pd
import pytest
from run_helpers import fake_trainer, make_run

from chemnet import runs
from chemnet.runs import RunError


# ----- run ids -----


@pytest.mark.parametrize("run_id", ["name-1", "a", "Run_2.b", "x" * 64])
def test_safe_run_ids_pass(run_id):
    assert runs.check_run_id(run_id) == run_id


@pytest.mark.parametrize("run_id", ["", "../x", "a/b", ".hidden", "-x", "x" * 65, "a..b", "a b",
                                    "/etc", None, 5])
def test_unsafe_run_ids_are_refused(run_id):
    with pytest.raises(RunError, match="invalid run id"):
        runs.check_run_id(run_id)


def test_new_run_ids_are_safe_and_distinct():
    a, b = runs.new_run_id("name"), runs.new_run_id("name")
    assert a != b and runs.check_run_id(a).startswith("name-")


# ----- reading run folders -----


def test_dead_process_reads_as_failed_with_log_tail(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    make_run(tmp_path, "gone", pid=proc.pid, log="epoch 1\nRuntimeError: out of memory\n")
    info = runs.read_run("gone", tmp_path)
    assert info.state == "failed" and not info.alive and not info.active
    assert "out of memory" in info.message and str(proc.pid) in info.message
    # The folder is left as the trainer wrote it (a resume may still use it).
    assert json.loads((tmp_path / "gone" / "status.json").read_text())["state"] == "running"


def test_recycled_pid_of_another_program_reads_as_failed(tmp_path):
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        make_run(tmp_path, "reused", pid=other.pid)
        assert runs.read_run("reused", tmp_path).state == "failed"
    finally:
        other.kill()
        other.wait()


def test_live_trainer_reads_as_running_and_zombie_as_dead(tmp_path):
    proc = fake_trainer(0.5)
    make_run(tmp_path, "live", pid=proc.pid)
    assert runs.read_run("live", tmp_path).state == "running"
    time.sleep(1.0)  # it exits, unreaped: a zombie must not count as alive
    assert runs.read_run("live", tmp_path).state == "failed"


def test_list_runs_newest_first_and_skips_strange_folders(tmp_path):
    make_run(tmp_path, "old", state="finished", updated=1000.0)
    make_run(tmp_path, "new", state="stopped", updated=2000.0)
    (tmp_path / ".trash").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    assert [i.run_id for i in runs.list_runs(tmp_path)] == ["new", "old"]
    assert runs.list_runs(tmp_path / "missing") == []


def test_read_run_of_unknown_id_says_so(tmp_path):
    with pytest.raises(RunError, match="no run named"):
        runs.read_run("nothing", tmp_path)


def test_history_with_a_half_written_last_line(tmp_path):
    folder = make_run(tmp_path, "h", state="finished")
    (folder / "history.csv").write_text(
        "epoch,train_loss,val_loss,val_accuracy,learning_rate\n1,2.0,2.1,0.3,0.002\n2,1.5,1.6,0."
    )
    history = runs.read_history("h", tmp_path)
    assert list(history["epoch"]) == [1, 2] and history["train_loss"].tolist() == [2.0, 1.5]
    assert runs.read_steps("h", tmp_path).empty


def test_log_tail_keeps_last_lines_and_last_tqdm_state(tmp_path):
    log = "".join(f"line {i}\n" for i in range(100)) + "bar 10%\rbar 50%\rbar 90%\n"
    make_run(tmp_path, "t", state="finished", log=log)
    tail = runs.log_tail("t", 3, tmp_path).split("\n")
    assert tail == ["line 98", "line 99", "bar 90%"]


def test_progress_eta_and_throughput(tmp_path):
    proc = fake_trainer()
    try:
        folder = make_run(tmp_path, "p", pid=proc.pid, config={"task": "name", "epochs": 2})
        steps = pd.DataFrame({"step": [1, 2, 3, 4, 5], "epoch": [1] * 5,
                              "train_loss": [3, 2.5, 2, 1.8, 1.7],
                              "samples_per_s": [100.0] * 5, "elapsed_s": [1, 2, 3, 4, 5]})
        steps.to_csv(folder / "steps.csv", index=False)
        prog = runs.progress(runs.read_run("p", tmp_path), tmp_path)
        # A 3-second time budget, counted from the process start, ends the run sooner.
        (folder / "config.json").write_text(json.dumps({"epochs": 2, "max_minutes": 0.05}))
        budgeted = runs.progress(runs.read_run("p", tmp_path), tmp_path)
    finally:
        proc.kill()
        proc.wait()
    # 5 of 10 steps done at one step per second: 5 s left.
    assert prog.fraction == pytest.approx(0.5) and prog.eta_s == pytest.approx(5.0)
    assert prog.samples_per_s == 100.0 and prog.epochs == 2
    assert 0.0 <= budgeted.eta_s <= 3.0


def test_process_start_time_of_a_new_process():
    child = subprocess.Popen(["sleep", "30"])
    try:
        started = runs.process_start_time(child.pid)
        assert started is not None and abs(time.time() - started) < 60
    finally:
        child.kill()
        child.wait()
    assert runs.process_start_time(None) is None


def test_compare_configs_puts_differences_first():
    a = runs.RunInfo("a", None, "finished", config={"task": "name", "lr": 0.1, "model": {"h": 8}})
    b = runs.RunInfo("b", None, "finished", config={"task": "name", "lr": 0.2, "model": {"h": 8}})
    table = runs.compare_configs([a, b])
    assert list(table.columns) == ["a", "b"]
    assert table.index[0] == "lr" and set(table.index) == {"task", "lr", "model.h"}
