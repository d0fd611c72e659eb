"""The trainer on tiny data: run folder, resume, SIGTERM, failure, and DDP under torchrun."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from chemnet import train
from chemnet.batching import BucketBatchSampler
from chemnet.checkpoint import load_checkpoint
from tiny_names import write_tiny_data

torch.set_num_threads(1)
TINY = ["--model-arg", "hidden=32", "--model-arg", "embed=16", "--batch-size", "8",
        "--val-exact", "4", "--log-every", "1", "--num-threads", "1"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_tiny_data(tmp_path_factory.mktemp("names"))


def run_args(data_dir, runs, run_id, *extra):
    return ["--task", "name", "--variant", "attention", "--data-dir", str(data_dir),
            "--runs-dir", str(runs), "--run-id", run_id, *TINY, *extra]


def rows(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_tiny_run_writes_the_run_folder(data_dir, tmp_path):
    assert train.main(run_args(data_dir, tmp_path, "r1", "--epochs", "2")) == 0
    run = tmp_path / "r1"
    for name in ("config.json", "status.json", "history.csv", "steps.csv", "train.log",
                 "last.pth", "best.pth"):
        assert (run / name).is_file(), name
    config = json.loads((run / "config.json").read_text())
    assert config["lr"] == 0.002 and config["scheduler"] == "step" and config["step_size"] == 10
    status = json.loads((run / "status.json").read_text())
    assert status["state"] == "finished" and status["epoch"] == 2
    assert status["step"] == status["total_steps"] > 0
    history = rows(run / "history.csv")
    assert [r["epoch"] for r in history] == ["1", "2"]
    assert {"train_loss", "val_loss", "val_accuracy", "learning_rate"} <= set(history[0])
    assert float(history[1]["train_loss"]) < float(history[0]["train_loss"])
    steps = rows(run / "steps.csv")
    assert [int(r["step"]) for r in steps] == list(range(1, status["step"] + 1))
    ckpt = load_checkpoint(run / "last.pth")
    assert ckpt["epoch"] == 2 and ckpt["config"]["task"] == "name"
    assert not list(run.glob("*.tmp"))


def test_resume_continues_the_same_history(data_dir, tmp_path):
    assert train.main(run_args(data_dir, tmp_path, "r2", "--epochs", "1")) == 0
    before = load_checkpoint(tmp_path / "r2" / "last.pth")
    assert train.main(["--resume", "r2", "--runs-dir", str(tmp_path), "--epochs", "3"]) == 0
    history = rows(tmp_path / "r2" / "history.csv")
    assert [r["epoch"] for r in history] == ["1", "2", "3"]
    after = load_checkpoint(tmp_path / "r2" / "last.pth")
    assert after["epoch"] == 3 and after["metrics"]["step"] == 3 * before["metrics"]["step"]
    steps = [int(r["step"]) for r in rows(tmp_path / "r2" / "steps.csv")]
    assert steps == sorted(set(steps))


def test_init_from_starts_a_new_run_from_trained_weights(data_dir, tmp_path):
    assert train.main(run_args(data_dir, tmp_path, "src", "--epochs", "3")) == 0
    source = load_checkpoint(tmp_path / "src" / "last.pth")
    # A --model-arg that keeps the weights' shapes wins over the checkpoint's setting.
    args = run_args(data_dir, tmp_path, "ft", "--epochs", "1", "--model-arg", "dropout=0.3",
                    "--init-from", str(tmp_path / "src" / "last.pth"))
    assert train.main(args) == 0
    tuned = load_checkpoint(tmp_path / "ft" / "last.pth")
    assert tuned["vocab"] == source["vocab"]
    assert tuned["config"]["model"] == {**source["config"]["model"], "dropout": 0.3}
    assert tuned["config"]["init_from"].endswith("last.pth")
    first = float(rows(tmp_path / "src" / "steps.csv")[0]["train_loss"])
    assert float(rows(tmp_path / "ft" / "steps.csv")[0]["train_loss"]) < first
    assert [r["epoch"] for r in rows(tmp_path / "ft" / "history.csv")] == ["1"]


def test_init_from_with_a_size_the_weights_do_not_fit_fails_clearly(data_dir, tmp_path):
    assert train.main(run_args(data_dir, tmp_path, "src", "--epochs", "1")) == 0
    args = run_args(data_dir, tmp_path, "wide", "--epochs", "1", "--model-arg", "hidden=48",
                    "--init-from", str(tmp_path / "src" / "last.pth"))
    assert train.main(args) == 1
    status = json.loads((tmp_path / "wide" / "status.json").read_text())
    assert status["state"] == "failed"
    assert "do not fit the model asked for" in status["message"]
    assert not (tmp_path / "wide" / "last.pth").exists()


def test_init_from_refuses_another_task_or_a_missing_file(data_dir, tmp_path, capsys):
    assert train.main(run_args(data_dir, tmp_path, "src2", "--epochs", "1")) == 0
    checkpoint = load_checkpoint(tmp_path / "src2" / "last.pth")
    checkpoint["config"]["task"] = "image"
    torch.save(checkpoint, tmp_path / "image.pth")
    args = run_args(data_dir, tmp_path, "x", "--init-from", str(tmp_path / "image.pth"))
    assert train.main(args) == 2
    assert "image model" in capsys.readouterr().err
    args = run_args(data_dir, tmp_path, "y", "--init-from", str(tmp_path / "none.pth"))
    assert train.main(args) == 2
    assert "not found" in capsys.readouterr().err


def test_time_budget_stops_after_the_epoch(data_dir, tmp_path):
    args = run_args(data_dir, tmp_path, "budget", "--epochs", "50", "--max-minutes", "0.0001")
    assert train.main(args) == 0
    status = json.loads((tmp_path / "budget" / "status.json").read_text())
    assert status["state"] == "finished" and status["epoch"] == 1
    assert "time budget" in status["message"]
    assert load_checkpoint(tmp_path / "budget" / "last.pth")["epoch"] == 1


def test_existing_run_is_not_overwritten(data_dir, tmp_path, capsys):
    assert train.main(run_args(data_dir, tmp_path, "r3", "--epochs", "1")) == 0
    assert train.main(run_args(data_dir, tmp_path, "r3", "--epochs", "1")) == 2
    assert "--resume" in capsys.readouterr().err


def test_failure_marks_the_run_failed(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code = train.main(["--task", "name", "--data-dir", str(empty), "--runs-dir", str(tmp_path),
                       "--run-id", "bad", *TINY])
    status = json.loads((tmp_path / "bad" / "status.json").read_text())
    assert code == 1 and status["state"] == "failed"
    assert "names.parquet" in status["message"]


def test_sigterm_stops_with_last_checkpoint(data_dir, tmp_path):
    cmd = [sys.executable, "-m", "chemnet.train",
           *run_args(data_dir, tmp_path, "sig", "--epochs", "1000")]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    steps = tmp_path / "sig" / "steps.csv"
    deadline = time.time() + 120
    while not steps.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    status = json.loads((tmp_path / "sig" / "status.json").read_text())
    assert status["state"] == "stopped" and "SIGTERM" in status["message"]
    assert load_checkpoint(tmp_path / "sig" / "last.pth")["metrics"]["step"] >= 1


def test_bucket_sampler_groups_lengths_and_splits_ranks():
    lengths = [i % 17 for i in range(200)]
    sampler = BucketBatchSampler(lengths, 10, seed=1, bucket=4)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 20
    assert sorted(i for b in batches for i in b) == list(range(200))
    spread = [max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches]
    assert sum(spread) / len(spread) < 6  # a random batch would spread ~15
    ranks = [list(BucketBatchSampler(lengths, 10, rank=r, world=2)) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1])
    seen = [i for r in ranks for b in r for i in b]
    assert sorted(seen) == list(range(200))


def test_ddp_under_torchrun_writes_one_run_folder(data_dir, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
           "--standalone", "-m", "chemnet.train",
           *run_args(data_dir, tmp_path, "ddp", "--epochs", "2")]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        _, err = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # torchrun's workers too
        raise
    assert proc.returncode == 0, err[-2000:]
    assert [p.name for p in tmp_path.iterdir()] == ["ddp"]
    run = tmp_path / "ddp"
    config = json.loads((run / "config.json").read_text())
    assert config["world_size"] == 2
    assert json.loads((run / "status.json").read_text())["state"] == "finished"
    assert [r["epoch"] for r in rows(run / "history.csv")] == ["1", "2"]
    # each rank sees half of the training pairs per epoch
    single = -(-config["data"]["train_pairs"] // 2 // 8)
    assert load_checkpoint(run / "last.pth")["metrics"]["step"] == 2 * single
