"""Helpers of the run registry tests: fake run folders and processes that look like trainers."""

from __future__ import annotations

import json
import subprocess
import sys
import time


def fake_trainer(seconds: float = 30) -> subprocess.Popen:
    """A process whose command line looks like the trainer's, for liveness checks."""
    code = f"import time; time.sleep({seconds})"
    return subprocess.Popen([sys.executable, "-c", code, "chemnet.train"])


def make_run(root, run_id, state="running", pid=None, updated=None, log="", config=None):
    """A run folder as the trainer would leave it: status, config and log."""
    folder = root / run_id
    folder.mkdir(parents=True)
    status = {"state": state, "pid": pid, "epoch": 1, "step": 5, "total_steps": 10,
              "updated": updated or time.time(), "message": ""}
    (folder / "status.json").write_text(json.dumps(status))
    (folder / "config.json").write_text(json.dumps(config or {"task": "name", "epochs": 2}))
    (folder / "train.log").write_text(log)
    return folder
