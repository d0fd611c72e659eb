"""The files of one training run folder, written so that readers never see half a file."""

from __future__ import annotations

import csv
import json
import logging
import os
import tempfile
import time
from pathlib import Path

HISTORY_COLUMNS = ["epoch", "train_loss", "val_loss", "val_accuracy", "learning_rate"]
STEP_COLUMNS = ["step", "epoch", "train_loss", "samples_per_s", "elapsed_s", "learning_rate"]


def new_run_id(task: str) -> str:
    return f"{task}-{time.strftime('%Y%m%d-%H%M%S')}"


def write_json_atomic(path: Path, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2, default=str)
    os.chmod(tmp, 0o644)  # mkstemp creates 0600; the dashboard and others read it
    os.replace(tmp, path)


class RunFiles:
    """Paths and writers of results/runs/<run_id>/; a non-writing instance (DDP rank > 0)
    accepts the same calls and does nothing."""

    def __init__(self, run_dir: Path, write: bool = True):
        self.dir = Path(run_dir)
        self.write = write
        self.config = self.dir / "config.json"
        self.status_file = self.dir / "status.json"
        self.history = self.dir / "history.csv"
        self.steps = self.dir / "steps.csv"
        self.log = self.dir / "train.log"
        self.last = self.dir / "last.pth"
        self.best = self.dir / "best.pth"
        self._status: dict = {}
        if write:
            self.dir.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def read_config(run_dir: Path) -> dict:
        path = Path(run_dir) / "config.json"
        if not path.is_file():
            raise FileNotFoundError(f"no run at {run_dir} (config.json missing)")
        return json.loads(path.read_text())

    def setup_logging(self) -> list[logging.Handler]:
        """Log to stderr and, on the writing rank, to train.log; returns the new handlers."""
        handlers: list[logging.Handler] = [logging.StreamHandler()]
        if self.write:
            handlers.append(logging.FileHandler(self.log))
        root = logging.getLogger()
        root.setLevel(logging.INFO if self.write else logging.WARNING)
        fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        for handler in handlers:
            handler.setFormatter(fmt)
            root.addHandler(handler)
        return handlers

    def write_config(self, config: dict) -> None:
        if self.write:
            write_json_atomic(self.config, config)

    def status(self, state: str, **fields) -> None:
        """Update status.json; fields not given keep their previous values."""
        if not self.write:
            return
        names = {"total": "total_steps"}
        self._status.update({names.get(k, k): v for k, v in fields.items()})
        self._status.update(state=state, pid=os.getpid(), updated=time.time(),
                            updated_iso=time.strftime("%Y-%m-%dT%H:%M:%S"))
        write_json_atomic(self.status_file, self._status)

    def append_history(self, row: dict) -> None:
        if not self.write:
            return
        columns = self._columns(self.history) or HISTORY_COLUMNS + [
            k for k in row if k not in HISTORY_COLUMNS]
        self._append(self.history, columns, row)

    def append_step(self, step: int, epoch: int, loss: float, rate: float, elapsed: float,
                    lr: float) -> None:
        if not self.write:
            return
        row = dict(zip(STEP_COLUMNS, (step, epoch, round(loss, 5), round(rate, 1),
                                      round(elapsed, 2), lr)))
        self._append(self.steps, STEP_COLUMNS, row)

    def truncate(self, epoch: int, step: int) -> None:
        """On resume, drop history and step rows written after the checkpoint we resume from."""
        if not self.write:
            return
        self._keep(self.history, lambda r: int(float(r["epoch"])) <= epoch)
        self._keep(self.steps, lambda r: int(float(r["step"])) <= step)

    @staticmethod
    def _columns(path: Path) -> list[str] | None:
        if not path.is_file() or path.stat().st_size == 0:
            return None
        with path.open(newline="") as handle:
            return next(csv.reader(handle), None)

    @staticmethod
    def _append(path: Path, columns: list[str], row: dict) -> None:
        new = not path.is_file() or path.stat().st_size == 0
        with path.open("a", newline="") as handle:
            writer = csv.DictWriter(handle, columns, extrasaction="ignore", restval="")
            if new:
                writer.writeheader()
            writer.writerow(row)
            handle.flush()

    @staticmethod
    def _keep(path: Path, predicate) -> None:
        if not path.is_file():
            return
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            columns, rows = reader.fieldnames, [r for r in reader if predicate(r)]
        if not columns:
            return
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", newline="") as handle:
            writer = csv.DictWriter(handle, columns)
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, path)
