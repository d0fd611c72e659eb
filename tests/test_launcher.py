"""Launcher: parameter checks, the trainer command line, guards on launch, stop and delete.

The last tests launch the real trainer on a tiny dataset: a stopped run resumes into the same
history, and a killed trainer reads as failed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from run_helpers import fake_trainer, make_run

from chemnet import launcher, runs
from chemnet.launcher import RunParams
from chemnet.runs import RunError

TASKS = {"name": ["reference", "attention"]}


# ----- parameters -----


def test_validate_params_normalises_numbers():
    params = RunParams("name", "attention", 3.0, 8, 1, "cpu", 40)
    params = launcher.validate_params(params, TASKS)
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
        launcher.validate_params(params, TASKS)


def test_cuda_is_refused_when_torch_sees_none(monkeypatch):
    monkeypatch.setattr(launcher, "available_devices", lambda: {"auto": "", "cpu": ""})
    with pytest.raises(RunError, match="no CUDA"):
        launcher.validate_params(RunParams(device="cuda"), TASKS)


def test_trainer_argv_runs_only_the_trainer(tmp_path):
    params = RunParams("name", "attention", 2, 8, 0.01, "cpu", 40)
    argv = launcher.trainer_argv(params, "demo", tmp_path)
    assert argv[:3] == [sys.executable, "-m", "chemnet.train"]
    joined = " ".join(argv)
    for part in ("--task name", "--epochs 2", "--batch-size 8", "--lr 0.01", "--device cpu",
                 "--run-id demo", f"--runs-dir {tmp_path}", "--variant attention", "--limit 40"):
        assert part in joined
    assert "--max-minutes" not in joined
    with pytest.raises(RunError):
        launcher.trainer_argv(params, "../../bin", tmp_path)
    assert "--init-from" not in joined


def test_a_run_may_start_from_the_shipped_model(tmp_path, monkeypatch):
    shipped = tmp_path / "name2smiles.pth"
    monkeypatch.setattr(launcher.paths, "NAME_MODEL", shipped)
    params = RunParams("name", "attention", 2, 8, 0.01, "cpu", 40, from_shipped=True)
    with pytest.raises(RunError, match="no shipped name model"):
        launcher.validate_params(params, TASKS)
    shipped.write_bytes(b"weights")
    params = launcher.validate_params(params, TASKS)
    argv = launcher.trainer_argv(params, "tune", tmp_path)
    assert argv[argv.index("--init-from") + 1] == str(shipped)


def test_trainer_registers_the_name_task():
    tasks = launcher.trainer_tasks()
    assert "name" in tasks and tasks["name"][0] == "reference"


# ----- guards on launch, stop and delete -----


def test_launch_refuses_beyond_the_concurrency_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(launcher, "trainer_tasks", lambda: TASKS)
    proc = fake_trainer()
    try:
        make_run(tmp_path, "busy", pid=proc.pid)
        with pytest.raises(RunError, match="limit is 1"):
            launcher.launch(RunParams(epochs=1), "second", tmp_path, max_concurrent=1)
    finally:
        proc.kill()
        proc.wait()
    assert not (tmp_path / "second").exists()


def test_launch_refuses_bad_params_and_existing_ids(tmp_path, monkeypatch):
    monkeypatch.setattr(launcher, "trainer_tasks", lambda: TASKS)
    with pytest.raises(RunError, match="epochs"):
        launcher.launch(RunParams(epochs=-1), "bad", tmp_path)
    make_run(tmp_path, "taken", state="finished")
    with pytest.raises(RunError, match="already exists"):
        launcher.launch(RunParams(epochs=1), "taken", tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]


def test_a_trainer_that_cannot_start_leaves_no_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(launcher, "trainer_tasks", lambda: TASKS)

    def refuse(*args, **kwargs):
        raise PermissionError("no exec")

    monkeypatch.setattr(launcher.subprocess, "Popen", refuse)
    with pytest.raises(RunError, match="could not start the trainer: no exec"):
        launcher.launch(RunParams(epochs=1), "nostart", tmp_path)
    assert not (tmp_path / "nostart").exists()


def test_stop_signals_the_trainer(tmp_path):
    proc = fake_trainer()
    make_run(tmp_path, "s", pid=proc.pid)
    launcher.stop("s", tmp_path)
    assert proc.wait(timeout=10) == -signal.SIGTERM
    with pytest.raises(RunError, match="not running"):
        launcher.stop("s", tmp_path)


def test_delete_refuses_active_runs_and_removes_others(tmp_path):
    proc = fake_trainer()
    try:
        make_run(tmp_path, "active", pid=proc.pid)
        with pytest.raises(RunError, match="stop it"):
            launcher.delete("active", tmp_path)
    finally:
        proc.kill()
        proc.wait()
    make_run(tmp_path, "done", state="finished")
    launcher.delete("done", tmp_path)
    assert not (tmp_path / "done").exists()
    with pytest.raises(RunError):
        launcher.delete("../done", tmp_path)


def test_resume_needs_a_checkpoint(tmp_path):
    make_run(tmp_path, "nockpt", state="stopped")
    with pytest.raises(RunError, match="no last.pth"):
        launcher.resume("nockpt", tmp_path)


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
    info = launcher.launch(RunParams(**TINY), "life", tiny_env)
    assert info.active and info.alive and (tiny_env / "life" / "launch.json").is_file()
    runs.wait_for("life", has_history(1), timeout=240, runs_dir=tiny_env)
    assert not runs.read_steps("life", tiny_env).empty  # step-level curve data

    launcher.stop("life", tiny_env)
    stopped = runs.wait_for("life", lambda i: not i.active, timeout=120, runs_dir=tiny_env)
    assert stopped.state == "stopped" and (stopped.path / "last.pth").is_file()
    done = len(runs.read_history("life", tiny_env))

    launcher.resume("life", tiny_env, epochs=done + 1)
    final = runs.wait_for("life", lambda i: i.state == "finished", timeout=240,
                          runs_dir=tiny_env)
    history = runs.read_history("life", tiny_env)
    assert list(history["epoch"]) == list(range(1, done + 2)) and final.epoch == done + 1
    assert runs.progress(final, tiny_env).fraction == 1.0
    with pytest.raises(RunError, match="ask for more"):
        launcher.resume("life", tiny_env)


@pytest.mark.slow
def test_run_outlives_its_launcher_and_a_kill_reads_as_failed(tiny_env):
    # Launch from a short-lived process, as an app that restarts would: the run lives on.
    code = ("import sys; from chemnet import launcher; "
            f"launcher.launch(launcher.RunParams(**{TINY!r}), 'killed', sys.argv[1])")
    subprocess.run([sys.executable, "-c", code, str(tiny_env)], check=True, timeout=120)
    info = runs.read_run("killed", tiny_env)
    assert info.alive and info.active
    # Once the trainer knows its step count it has logged its setup, so the log has a tail.
    runs.wait_for("killed", lambda i: bool(i.total_steps), timeout=120, runs_dir=tiny_env)
    os.kill(info.pid, signal.SIGKILL)
    failed = runs.wait_for("killed", lambda i: not i.active, timeout=30, runs_dir=tiny_env)
    assert failed.state == "failed" and f"process {info.pid} is gone" in failed.message
    assert "end of its log" in failed.message
