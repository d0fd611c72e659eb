"""Run registry: ids, parameter checks, reading run folders, dead processes, launch guards.

The last tests launch the real trainer on a tiny dataset: a run finishes with one history row
per epoch, a stopped run resumes into the same history, a killed trainer reads as failed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from chemnet import runs
from chemnet.runs import RunError, RunParams

TASKS = {"name": ["reference", "attention"]}


def fake_trainer(seconds: float = 30) -> subprocess.Popen:
    """A process whose command line looks like the trainer's, for liveness checks."""
    code = f"import time; time.sleep({seconds})"
    return subprocess.Popen([sys.executable, "-c", code, "chemnet.train"])


def make_run(root, run_id, state="running", pid=None, updated=None, log="", config=None):
    folder = root / run_id
    folder.mkdir(parents=True)
    status = {"state": state, "pid": pid, "epoch": 1, "step": 5, "total_steps": 10,
              "updated": updated or time.time(), "message": ""}
    (folder / "status.json").write_text(json.dumps(status))
    (folder / "config.json").write_text(json.dumps(config or {"task": "name", "epochs": 2}))
    (folder / "train.log").write_text(log)
    return folder


# ----- ids and parameters -----


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


def test_validate_params_normalises_numbers():
    params = runs.validate_params(RunParams("name", "attention", 3.0, 8, 1, "cpu", 40), TASKS)
    assert (params.epochs, params.batch_size, params.lr, params.limit) == (3, 8, 1.0, 40)
    assert isinstance(params.epochs, int) and isinstance(params.lr, float)


@pytest.mark.parametrize("change, message", [
    ({"task": "image"}, "unknown task"),
    ({"variant": "huge"}, "unknown variant"),
    ({"epochs": 0}, "epochs"),
    ({"epochs": 2.5}, "whole number"),
    ({"epochs": True}, "number"),
    ({"batch_size": "8"}, "batch size"),
    ({"lr": -0.1}, "learning rate"),
    ({"lr": 5.0}, "learning rate"),
    ({"device": "tpu"}, "device"),
    ({"limit": 1}, "limit"),
    ({"max_minutes": 0}, "max minutes"),
])
def test_validate_params_refuses_bad_values(change, message):
    params = RunParams(**{**vars(RunParams()), **change})
    with pytest.raises(RunError, match=message):
        runs.validate_params(params, TASKS)


def test_cuda_is_refused_when_torch_sees_none(monkeypatch):
    monkeypatch.setattr(runs, "available_devices", lambda: {"auto": "", "cpu": ""})
    with pytest.raises(RunError, match="no CUDA"):
        runs.validate_params(RunParams(device="cuda"), TASKS)


def test_trainer_argv_runs_only_the_trainer(tmp_path):
    params = RunParams("name", "attention", 2, 8, 0.01, "cpu", 40)
    argv = runs.trainer_argv(params, "demo", tmp_path)
    assert argv[:3] == [sys.executable, "-m", "chemnet.train"]
    joined = " ".join(argv)
    for part in ("--task name", "--epochs 2", "--batch-size 8", "--lr 0.01", "--device cpu",
                 "--run-id demo", f"--runs-dir {tmp_path}", "--variant attention", "--limit 40"):
        assert part in joined
    assert "--max-minutes" not in joined
    with pytest.raises(RunError):
        runs.trainer_argv(params, "../../bin", tmp_path)


def test_trainer_registers_the_name_task():
    tasks = runs.trainer_tasks()
    assert "name" in tasks and tasks["name"][0] == "reference"


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
    finally:
        proc.kill()
        proc.wait()
    # 5 of 10 steps done at one step per second: 5 s left.
    assert prog.fraction == pytest.approx(0.5) and prog.eta_s == pytest.approx(5.0)
    assert prog.samples_per_s == 100.0 and prog.epochs == 2


def test_compare_configs_puts_differences_first():
    a = runs.RunInfo("a", None, "finished", config={"task": "name", "lr": 0.1, "model": {"h": 8}})
    b = runs.RunInfo("b", None, "finished", config={"task": "name", "lr": 0.2, "model": {"h": 8}})
    table = runs.compare_configs([a, b])
    assert list(table.columns) == ["a", "b"]
    assert table.index[0] == "lr" and set(table.index) == {"task", "lr", "model.h"}


# ----- guards on launch, stop and delete -----


def test_launch_refuses_beyond_the_concurrency_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "trainer_tasks", lambda: TASKS)
    proc = fake_trainer()
    try:
        make_run(tmp_path, "busy", pid=proc.pid)
        with pytest.raises(RunError, match="limit is 1"):
            runs.launch(RunParams(epochs=1), "second", tmp_path, max_concurrent=1)
    finally:
        proc.kill()
        proc.wait()
    assert not (tmp_path / "second").exists()


def test_launch_refuses_bad_params_and_existing_ids(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "trainer_tasks", lambda: TASKS)
    with pytest.raises(RunError, match="epochs"):
        runs.launch(RunParams(epochs=-1), "bad", tmp_path)
    make_run(tmp_path, "taken", state="finished")
    with pytest.raises(RunError, match="already exists"):
        runs.launch(RunParams(epochs=1), "taken", tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]


def test_stop_signals_the_trainer(tmp_path):
    proc = fake_trainer()
    make_run(tmp_path, "s", pid=proc.pid)
    runs.stop("s", tmp_path)
    assert proc.wait(timeout=10) == -signal.SIGTERM
    with pytest.raises(RunError, match="not running"):
        runs.stop("s", tmp_path)


def test_delete_refuses_active_runs_and_removes_others(tmp_path):
    proc = fake_trainer()
    try:
        make_run(tmp_path, "active", pid=proc.pid)
        with pytest.raises(RunError, match="stop it"):
            runs.delete("active", tmp_path)
    finally:
        proc.kill()
        proc.wait()
    make_run(tmp_path, "done", state="finished")
    runs.delete("done", tmp_path)
    assert not (tmp_path / "done").exists()
    with pytest.raises(RunError):
        runs.delete("../done", tmp_path)


def test_resume_needs_a_checkpoint(tmp_path):
    make_run(tmp_path, "nockpt", state="stopped")
    with pytest.raises(RunError, match="no last.pth"):
        runs.resume("nockpt", tmp_path)


# ----- the real trainer on a tiny dataset -----

TINY = dict(task="name", variant="reference", epochs=50, batch_size=16, lr=0.005, device="cpu",
            limit=40, val_limit=16, log_every=1)


@pytest.fixture
def tiny_env(built_data, monkeypatch, tmp_path):
    """A runs folder in tmp_path; the launched trainer reads the tiny dataset."""
    monkeypatch.setenv("CHEMNET_DATA_DIR", str(built_data))
    yield tmp_path / "runs"
    for info in runs.active_runs(tmp_path / "runs"):  # never leave a trainer behind
        os.kill(info.pid, signal.SIGKILL)


def has_history(rows: int):
    return lambda info: len(runs.read_history(info.run_id, info.path.parent)) >= rows


@pytest.mark.slow
def test_stop_and_resume_continue_one_history(tiny_env):
    info = runs.launch(RunParams(**TINY), "life", tiny_env)
    assert info.active and info.alive and (tiny_env / "life" / "launch.json").is_file()
    runs.wait_for("life", has_history(1), timeout=240, runs_dir=tiny_env)
    assert not runs.read_steps("life", tiny_env).empty  # step-level curve data

    runs.stop("life", tiny_env)
    stopped = runs.wait_for("life", lambda i: not i.active, timeout=120, runs_dir=tiny_env)
    assert stopped.state == "stopped" and (stopped.path / "last.pth").is_file()
    done = len(runs.read_history("life", tiny_env))

    runs.resume("life", tiny_env, epochs=done + 1)
    final = runs.wait_for("life", lambda i: i.state == "finished", timeout=240,
                          runs_dir=tiny_env)
    history = runs.read_history("life", tiny_env)
    assert list(history["epoch"]) == list(range(1, done + 2)) and final.epoch == done + 1
    assert runs.progress(final, tiny_env).fraction == 1.0
    with pytest.raises(RunError, match="ask for more"):
        runs.resume("life", tiny_env)


@pytest.mark.slow
def test_killed_trainer_is_reported_as_failed(tiny_env):
    info = runs.launch(RunParams(**TINY), "killed", tiny_env)
    # Once the trainer knows its step count it has logged its setup, so the log has a tail.
    runs.wait_for("killed", lambda i: bool(i.total_steps), timeout=120, runs_dir=tiny_env)
    os.kill(info.pid, signal.SIGKILL)
    failed = runs.wait_for("killed", lambda i: not i.active, timeout=30, runs_dir=tiny_env)
    assert failed.state == "failed" and f"process {info.pid} is gone" in failed.message
    assert "end of its log" in failed.message
