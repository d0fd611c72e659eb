"""Run registry: read training run folders (state, history, steps, log, progress) and list them.

A run folder on disk is the only truth about a run (DESIGN.md): the trainer writes config.json,
status.json, history.csv, steps.csv and train.log there; chemnet.launcher adds launch.json (the
pid and command line it started) and console.log (the trainer's stdout and stderr). Nothing
keeps a process handle between calls, so a page reload or an app restart loses nothing; a run
whose process died without a final status reads as failed.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from chemnet import paths

logger = logging.getLogger(__name__)

TRAINER_MODULE = "chemnet.train"
ACTIVE_STATES = ("queued", "running")
FINAL_STATES = ("finished", "failed", "stopped")
RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
LOG_TAIL_LINES = 30
CONSOLE_LOG = "console.log"


class RunError(ValueError):
    """A run cannot be launched, stopped, resumed or deleted; the message says why."""


@dataclass
class RunInfo:
    """One run as read from its folder, with the state corrected for a dead process."""

    run_id: str
    path: Path
    state: str
    pid: int | None = None
    epoch: int | None = None
    step: int | None = None
    total_steps: int | None = None
    updated: float | None = None
    message: str = ""
    config: dict = field(default_factory=dict)
    alive: bool = False

    @property
    def active(self) -> bool:
        """True while the run is queued or running."""
        return self.state in ACTIVE_STATES

    def to_dict(self) -> dict:
        """Plain-type view for tables and JSON."""
        out = asdict(self)
        out["path"] = str(self.path)
        return out


# ---------------------------------------------------------------------------------------------
# Names and folders


def runs_root(runs_dir: str | Path | None = None) -> Path:
    """The runs folder, read from chemnet.paths at call time so tests can move it."""
    return Path(runs_dir) if runs_dir is not None else paths.RUNS_DIR


def check_run_id(run_id: str) -> str:
    """Return run_id if it is a safe folder name, else raise RunError.

    Safe means letters, digits, '_', '-', '.', not starting with a dot or dash, no path parts,
    at most 64 characters, so a run id can never point outside the runs folder.
    """
    if not isinstance(run_id, str) or not RUN_ID_RE.match(run_id) or ".." in run_id:
        raise RunError(
            f"invalid run id {run_id!r}: use 1-64 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit"
        )
    return run_id


def new_run_id(task: str) -> str:
    """A fresh, sortable run id such as 'name-20261203-162500-ab12'."""
    return f"{task}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"


def run_dir(run_id: str, runs_dir: str | Path | None = None) -> Path:
    """The folder of a run, after checking the id."""
    return runs_root(runs_dir) / check_run_id(run_id)


def _read_json(path: Path) -> dict:
    # The trainer replaces these files atomically, but a half-copied or hand-edited file must
    # not break the page, so any unreadable file reads as empty.
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# ---------------------------------------------------------------------------------------------
# Processes


def _reap(pid: int) -> None:
    # A trainer launched by this process stays a zombie until waited for, and a zombie still
    # answers kill(pid, 0); reaping it makes a finished child look finished.
    try:
        os.waitpid(pid, os.WNOHANG)
    except (ChildProcessError, OSError):
        pass


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def is_trainer_alive(pid: int | None) -> bool:
    """True when pid is a live (not zombie) process running the trainer.

    Checking the command line guards against a recycled pid that now belongs to another program.
    """
    if not pid or pid <= 0:
        return False
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    except (OSError, IndexError):
        return True  # no /proc (not Linux): trust kill(pid, 0)
    cmd = _cmdline(pid)
    return TRAINER_MODULE in cmd or "torchrun" in cmd


def process_start_time(pid: int | None) -> float | None:
    """When a process started (Unix time), from /proc; None when unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        # Field 22 of stat (index 19 after the command name) is the start in clock ticks.
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError, StopIteration):
        return None


# ---------------------------------------------------------------------------------------------
# Reading runs


def log_tail(run_id: str, lines: int = LOG_TAIL_LINES, runs_dir: str | Path | None = None) -> str:
    """The last lines of a run's output ('' when there is none).

    Runs launched here have console.log (the trainer's stdout and stderr: its log lines, tqdm,
    and any traceback from before logging started); runs started by hand have train.log only.
    """
    folder = run_dir(run_id, runs_dir)
    path = folder / CONSOLE_LOG
    if not path.is_file() or path.stat().st_size == 0:
        path = folder / "train.log"
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64_000))
            text = fh.read().decode(errors="replace")
    except OSError:
        return ""
    # tqdm redraws its bar with carriage returns; keep only the last state of each line.
    rows = [row.rsplit("\r", 1)[-1] for row in text.split("\n")]
    return "\n".join([row for row in rows if row.strip()][-lines:])


def _relaunched(status: dict, launch: dict) -> bool:
    started = _timestamp(launch.get("started"))
    updated = _timestamp(status.get("updated"))
    return bool(
        status.get("state") in FINAL_STATES
        and started
        and updated
        and started > updated
        and is_trainer_alive(launch.get("pid"))
    )


def _pid_of(status: dict, launch: dict) -> int | None:
    for source in (status, launch):
        pid = source.get("pid")
        if isinstance(pid, int) and pid > 0:
            return pid
    return None


def _timestamp(value) -> float | None:
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return pd.Timestamp(value).timestamp()
        except ValueError:
            return None
    return None


def read_run(run_id: str, runs_dir: str | Path | None = None) -> RunInfo:
    """Read one run folder; a run marked active whose process is gone reads as failed."""
    folder = run_dir(run_id, runs_dir)
    if not folder.is_dir():
        raise RunError(f"no run named {run_id!r} in {runs_root(runs_dir)}")
    status = _read_json(folder / "status.json")
    launch = _read_json(folder / "launch.json")
    pid = _pid_of(status, launch)
    state = status.get("state") or ("queued" if launch else "unknown")
    if _relaunched(status, launch):
        # Resumed: until the trainer writes its first status, the old final state is stale.
        pid, state = launch["pid"], "queued"
    info = RunInfo(
        run_id=run_id,
        path=folder,
        state=state,
        pid=pid,
        epoch=status.get("epoch"),
        step=status.get("step"),
        total_steps=status.get("total_steps"),
        updated=_timestamp(status.get("updated")) or _timestamp(launch.get("started")),
        message=str(status.get("message") or ""),
        config=_read_json(folder / "config.json"),
    )
    relaunch = launch.get("params", {})
    resumed_epochs = relaunch.get("epochs") if "resume" in relaunch else None
    if resumed_epochs:  # config.json keeps the first launch's settings; a resume may add epochs
        info.config["epochs"] = resumed_epochs
    info.alive = is_trainer_alive(pid)
    if info.active and not info.alive:
        _mark_dead(info, runs_dir)
    return info


def _mark_dead(info: RunInfo, runs_dir: str | Path | None) -> None:
    # Only the reading changes; the folder is left as the trainer wrote it so a resume can still
    # start from last.pth, and a trainer that is merely slow to start is not overwritten.
    tail = log_tail(info.run_id, 8, runs_dir)
    info.state = "failed"
    info.message = f"process {info.pid} is gone without a final status" + (
        f"; end of its log:\n{tail}" if tail else "; its log is empty"
    )


def list_runs(runs_dir: str | Path | None = None) -> list[RunInfo]:
    """All runs under the runs folder, newest first."""
    root = runs_root(runs_dir)
    if not root.is_dir():
        return []
    infos = []
    for folder in root.iterdir():
        if folder.is_dir() and RUN_ID_RE.match(folder.name):
            infos.append(read_run(folder.name, runs_dir))
    return sorted(infos, key=lambda i: (i.updated or 0.0, i.run_id), reverse=True)


def read_csv(path: Path) -> pd.DataFrame:
    """A numeric CSV written by the trainer (empty frame when missing or unreadable)."""
    # The trainer appends while we read, so the last line may be partial: drop rows that do not
    # parse instead of failing.
    try:
        frame = pd.read_csv(path, on_bad_lines="skip")
    except (OSError, ValueError, pd.errors.EmptyDataError):
        return pd.DataFrame()
    return frame.apply(pd.to_numeric, errors="coerce").dropna(how="all")


def _flatten(config: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            plain = isinstance(value, (int, float, str, bool, type(None)))
            flat[name] = value if plain else str(value)
    return flat


def compare_configs(infos: list[RunInfo]) -> pd.DataFrame:
    """Configs of several runs side by side: one row per setting, one column per run.

    Settings that differ between the runs come first, since they explain different curves.
    """
    columns = {info.run_id: _flatten(info.config) for info in infos}
    if not any(columns.values()):
        return pd.DataFrame()
    table = pd.DataFrame(columns).astype(str).replace({"nan": "", "None": ""})
    differs = table.nunique(axis=1) > 1
    return pd.concat([table[differs], table[~differs]])


def read_history(run_id: str, runs_dir: str | Path | None = None) -> pd.DataFrame:
    """history.csv of a run, one row per epoch (empty frame before the first epoch ends)."""
    return read_csv(run_dir(run_id, runs_dir) / "history.csv")


def read_steps(run_id: str, runs_dir: str | Path | None = None) -> pd.DataFrame:
    """steps.csv of a run: step-level training loss and throughput."""
    return read_csv(run_dir(run_id, runs_dir) / "steps.csv")


# ---------------------------------------------------------------------------------------------
# Progress


@dataclass
class Progress:
    """How far a run is: fraction done, epoch, throughput and an estimate of the time left."""

    fraction: float
    epoch: int
    epochs: int | None
    step: int | None
    total_steps: int | None
    samples_per_s: float | None
    eta_s: float | None
    elapsed_s: float | None


def _recent_rate(steps: pd.DataFrame) -> float | None:
    # Steps per second over the last rows only, so a resume (elapsed restarting) or a slow first
    # epoch does not distort the estimate.
    if not {"step", "elapsed_s"} <= set(steps.columns) or len(steps) < 2:
        return None
    tail = steps[["step", "elapsed_s"]].dropna().tail(20)
    d_step = tail["step"].diff().iloc[1:]
    d_time = tail["elapsed_s"].diff().iloc[1:]
    ok = (d_step > 0) & (d_time > 0)
    if not ok.any():
        return None
    return float(d_step[ok].sum() / d_time[ok].sum())


def progress(info: RunInfo, runs_dir: str | Path | None = None) -> Progress:
    """Progress of a run from its status, config and steps.csv."""
    steps = read_steps(info.run_id, runs_dir)
    epochs = info.config.get("epochs")
    epoch = int(info.epoch or 0)
    if info.total_steps and info.step is not None:
        fraction = info.step / info.total_steps
    elif epochs:
        fraction = epoch / epochs
    else:
        fraction = 0.0
    if info.state == "finished":
        fraction = 1.0
    last = steps.iloc[-1] if len(steps) else pd.Series(dtype=float)
    rate = _recent_rate(steps)
    eta = None
    if info.active and rate and info.total_steps and info.step is not None:
        eta = max(0.0, (info.total_steps - info.step) / rate)
    budget = _float(info.config.get("max_minutes"))
    started = process_start_time(info.pid) if info.alive else None
    if eta is not None and budget and started:
        # The trainer's time budget counts from its process start and may end the run first
        # (after the epoch in which it runs out, which this estimate ignores).
        eta = min(eta, max(0.0, started + budget * 60 - time.time()))
    return Progress(
        fraction=min(1.0, max(0.0, float(fraction))),
        epoch=epoch,
        epochs=int(epochs) if epochs else None,
        step=info.step,
        total_steps=info.total_steps,
        samples_per_s=_float(last.get("samples_per_s")),
        eta_s=eta,
        elapsed_s=_float(last.get("elapsed_s")),
    )


def _float(value) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if out != out else out  # NaN reads as missing


# ---------------------------------------------------------------------------------------------
# Waiting


def active_runs(runs_dir: str | Path | None = None) -> list[RunInfo]:
    """Runs that are queued or running with a live process."""
    return [info for info in list_runs(runs_dir) if info.active]


def wait_for(
    run_id: str,
    predicate,
    timeout: float = 60.0,
    runs_dir: str | Path | None = None,
    poll: float = 0.2,
) -> RunInfo:
    """Poll a run until predicate(info) is true; raise TimeoutError after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        info = read_run(run_id, runs_dir)
        if predicate(info):
            return info
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id!r} still {info.state} after {timeout:.0f} s")
        time.sleep(poll)
