"""Launching training runs: parameter checks, the detached trainer process, stop, resume, delete.

Only the trainer (`python -m chemnet.train`) can be started, with a command line built here from
checked parameters. Each launch writes launch.json (pid, command line, time) into the run folder
and sends the trainer's console output to console.log there; chemnet.runs reads it all back.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import pkgutil
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from chemnet import paths
from chemnet.runs import (
    CONSOLE_LOG,
    TRAINER_MODULE,
    RunError,
    RunInfo,
    active_runs,
    check_run_id,
    new_run_id,
    read_run,
    runs_root,
)

logger = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda")
DEFAULT_TASK = "name"  # the trainer's own default; forms preselect it
_LAUNCH_LOCK = threading.Lock()

# Reference hyperparameters of each task (the original project's settings); the form starts here.
REFERENCE_DEFAULTS = {
    "name": {"lr": 0.002, "batch_size": 256, "epochs": 50, "scheduler": "StepLR(10, 0.5)"},
    "image": {"lr": 0.001, "batch_size": 8, "epochs": 20, "scheduler": "ReduceLROnPlateau"},
}


@dataclass
class RunParams:
    """What a user may choose for a new run; everything else is the trainer's default."""

    task: str = "name"
    variant: str | None = None
    epochs: int = 50
    batch_size: int = 256
    lr: float = 0.002
    device: str = "auto"
    limit: int | None = None
    max_minutes: float | None = None
    seed: int | None = None
    val_limit: int | None = None
    log_every: int | None = None
    from_shipped: bool = False  # fine-tune the shipped model of the task instead of fresh weights


def shipped_checkpoint(task: str) -> Path:
    """The shipped model a run of this task may start from."""
    shipped = {"name": paths.NAME_MODEL, "image": paths.IMAGE_MODEL}
    if task not in shipped:
        raise RunError(f"no shipped model for task {task!r}")
    return shipped[task]


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# Tasks, devices and parameter checks


def trainer_tasks() -> dict[str, list[str]]:
    """Tasks the trainer registers, each with its model variants (the default first).

    A task is a module in chemnet/tasks/ registering a Task class, so the image task appears
    here as soon as it is registered. Variants come from the task class (``variants``) or, by
    the nets convention, from ``chemnet.nets.<task>_model.VARIANTS``.
    """
    try:
        from chemnet import tasks
    except ImportError as exc:  # the trainer is missing or broken: nothing can be launched
        logger.warning("training tasks not importable: %s", exc)
        return {}
    found = {}
    for module in pkgutil.iter_modules(tasks.__path__):
        try:
            cls = tasks.get_task(module.name)
        except Exception as exc:  # a half-written task must not hide the others
            logger.warning("task %s not available: %s", module.name, exc)
            continue
        found[module.name] = _variants(module.name, cls)
    # The trainer's default task first, so forms preselect it.
    return dict(sorted(found.items(), key=lambda item: (item[0] != DEFAULT_TASK, item[0])))


def _variants(task: str, cls) -> list[str]:
    names = getattr(cls, "variants", None)
    if names is None:
        try:
            names = importlib.import_module(f"chemnet.nets.{task}_model").VARIANTS
        except (ImportError, AttributeError):
            names = ()
    names = list(names() if callable(names) else names)
    default = cls.defaults().get("variant")
    if default in names:  # the trainer's default first, so the form preselects it
        names.remove(default)
        names.insert(0, default)
    return names


def available_devices() -> dict[str, str]:
    """Devices a run may ask for, each with a description of what this machine has."""
    import torch  # imported here so listing runs does not pay for torch

    out = {"auto": "CUDA when available, else CPU", "cpu": f"CPU ({os.cpu_count()} cores)"}
    if torch.cuda.is_available():
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        out["cuda"] = ", ".join(names)
    return out


def _check_range(name: str, value, low, high, kind=int):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RunError(f"{name} must be a number, got {value!r}")
    if kind is int and int(value) != value:
        raise RunError(f"{name} must be a whole number, got {value!r}")
    if not low <= value <= high:
        raise RunError(f"{name} must be between {low} and {high}, got {value!r}")
    return kind(value)


def validate_params(params: RunParams, tasks: dict[str, list[str]] | None = None) -> RunParams:
    """Check every parameter before anything is launched; raise RunError with the reason."""
    tasks = trainer_tasks() if tasks is None else tasks
    if params.task not in tasks:
        raise RunError(f"unknown task {params.task!r}; the trainer offers {sorted(tasks)}")
    variants = tasks[params.task]
    if params.variant is not None and variants and params.variant not in variants:
        raise RunError(f"unknown variant {params.variant!r} for task {params.task!r}: {variants}")
    if params.device not in DEVICES:
        raise RunError(f"device must be one of {DEVICES}, got {params.device!r}")
    if params.device == "cuda" and "cuda" not in available_devices():
        raise RunError("device 'cuda' asked for, but torch sees no CUDA device on this machine")
    if params.from_shipped and not shipped_checkpoint(params.task).is_file():
        raise RunError(f"no shipped {params.task} model to start from at "
                       f"{shipped_checkpoint(params.task)}")
    return RunParams(
        task=params.task,
        variant=params.variant,
        epochs=_check_range("epochs", params.epochs, 1, 1000),
        batch_size=_check_range("batch size", params.batch_size, 1, 8192),
        lr=_check_range("learning rate", params.lr, 1e-7, 1.0, float),
        device=params.device,
        limit=None if params.limit is None else _check_range("limit", params.limit, 2, 10**7),
        max_minutes=None
        if params.max_minutes is None
        else _check_range("max minutes", params.max_minutes, 0.01, 10**5, float),
        seed=None if params.seed is None else _check_range("seed", params.seed, 0, 2**31 - 1),
        val_limit=None
        if params.val_limit is None
        else _check_range("validation limit", params.val_limit, 1, 10**7),
        log_every=None
        if params.log_every is None
        else _check_range("log every", params.log_every, 1, 10**6),
        from_shipped=bool(params.from_shipped),
    )


def trainer_argv(params: RunParams, run_id: str, runs_dir: Path) -> list[str]:
    """The trainer command line for validated params; no other program can be launched."""
    argv = [sys.executable, "-m", TRAINER_MODULE, "--task", params.task]
    argv += ["--epochs", str(params.epochs), "--batch-size", str(params.batch_size)]
    argv += ["--lr", repr(params.lr), "--device", params.device]
    argv += ["--run-id", check_run_id(run_id), "--runs-dir", str(runs_dir)]
    optional = {
        "--variant": params.variant,
        "--limit": params.limit,
        "--max-minutes": params.max_minutes,
        "--seed": params.seed,
        "--val-limit": params.val_limit,
        "--log-every": params.log_every,
    }
    for flag, value in optional.items():
        if value is not None:
            argv += [flag, str(value)]
    if params.from_shipped:
        argv += ["--init-from", str(shipped_checkpoint(params.task))]
    return argv


# ---------------------------------------------------------------------------------------------
# Launch, stop, resume, delete


def max_concurrent_runs() -> int:
    """How many runs may train at once (CHEMNET_MAX_RUNS, default 3).

    Three leaves room for a classroom demo beside the two long runs that ship the models; more
    would only slow every run down on a small machine.
    """
    try:
        return max(1, int(os.environ.get("CHEMNET_MAX_RUNS", "3")))
    except ValueError:
        return 3


def _check_capacity(runs_dir, max_concurrent: int | None) -> None:
    limit = max_concurrent or max_concurrent_runs()
    busy = active_runs(runs_dir)
    if len(busy) >= limit:
        names = ", ".join(info.run_id for info in busy)
        raise RunError(f"{len(busy)} run(s) already training ({names}); the limit is {limit}")


def _spawn(argv: list[str], folder: Path, params: dict) -> int:
    # The child inherits CHEMNET_* so it trains on the data this app shows.
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    # The trainer logs to train.log and stderr itself, so its console output goes to a file of
    # its own: sending it to train.log too would write every log line twice.
    with (folder / CONSOLE_LOG).open("ab") as log:
        # A new session detaches the trainer from the app: it outlives a page reload, an app
        # restart and Ctrl-C in the app's terminal.
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=paths.ROOT,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    launch = {"pid": proc.pid, "argv": argv, "started": time.time(), "params": params}
    _write_json(folder / "launch.json", launch)
    logger.info("launched %s (pid %d)", folder.name, proc.pid)
    return proc.pid


def launch(
    params: RunParams,
    run_id: str | None = None,
    runs_dir: str | Path | None = None,
    max_concurrent: int | None = None,
) -> RunInfo:
    """Validate params and start a new training run in the background.

    Args:
        params: task, variant and hyperparameters.
        run_id: folder name; a fresh one when None.
        runs_dir: the runs folder (default chemnet.paths.RUNS_DIR).
        max_concurrent: limit on active runs (default CHEMNET_MAX_RUNS or 3).

    Returns:
        The new run as read back from its folder.

    Raises:
        RunError: bad parameters or id, an existing run with that id, or too many active runs.
    """
    params = validate_params(params)
    run_id = check_run_id(run_id or new_run_id(params.task))
    root = runs_root(runs_dir)
    folder = root / run_id
    with _LAUNCH_LOCK:  # two sessions clicking at once must not both pass the limit
        _check_capacity(runs_dir, max_concurrent)
        try:
            folder.mkdir(parents=True)
        except FileExistsError:
            raise RunError(f"a run named {run_id!r} already exists") from None
        try:
            _spawn(trainer_argv(params, run_id, root.resolve()), folder, asdict(params))
        except OSError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise RunError(f"could not start the trainer: {exc}") from exc
    return read_run(run_id, runs_dir)


def stop(run_id: str, runs_dir: str | Path | None = None) -> RunInfo:
    """Ask a running trainer to stop (SIGTERM); it saves last.pth and marks itself stopped."""
    info = read_run(run_id, runs_dir)
    if not info.active or not info.alive:
        raise RunError(f"run {run_id!r} is not running (state {info.state})")
    # Only the trainer's own pid: signalling its process group would also hit DataLoader workers,
    # which could break the trainer before it saves.
    os.kill(info.pid, signal.SIGTERM)
    logger.info("sent SIGTERM to %s (pid %d)", run_id, info.pid)
    return info


def resume(
    run_id: str,
    runs_dir: str | Path | None = None,
    max_concurrent: int | None = None,
    epochs: int | None = None,
) -> RunInfo:
    """Continue a run from its last.pth, appending to the same history.

    Args:
        run_id: a stopped or failed run, or a finished one given more epochs.
        runs_dir: the runs folder (default chemnet.paths.RUNS_DIR).
        max_concurrent: limit on active runs (default CHEMNET_MAX_RUNS or 3).
        epochs: a new total number of epochs; None keeps the run's own.
    """
    info = read_run(run_id, runs_dir)
    if info.active:
        raise RunError(f"run {run_id!r} is still {info.state}")
    if not (info.path / "last.pth").is_file():
        raise RunError(f"run {run_id!r} has no last.pth to resume from")
    if epochs is not None:
        epochs = _check_range("epochs", epochs, 1, 1000)
    if info.state == "finished" and (epochs or 0) <= (info.epoch or 0):
        raise RunError(f"run {run_id!r} finished its {info.epoch} epochs; ask for more to resume")
    root = runs_root(runs_dir).resolve()
    argv = [sys.executable, "-m", TRAINER_MODULE, "--resume", run_id, "--runs-dir", str(root)]
    if epochs is not None:
        argv += ["--epochs", str(epochs)]
    with _LAUNCH_LOCK:
        _check_capacity(runs_dir, max_concurrent)
        try:
            _spawn(argv, info.path, {"resume": run_id, "epochs": epochs})
        except OSError as exc:
            raise RunError(f"could not start the trainer: {exc}") from exc
    return read_run(run_id, runs_dir)


def delete(run_id: str, runs_dir: str | Path | None = None) -> None:
    """Remove a run folder; refused while the run is active."""
    info = read_run(run_id, runs_dir)
    if info.active:
        raise RunError(f"run {run_id!r} is {info.state}; stop it before deleting")
    root = runs_root(runs_dir).resolve()
    folder = info.path.resolve()
    if folder.parent != root:  # belt and braces on top of check_run_id: never leave the root
        raise RunError(f"refusing to delete {folder}: not directly inside {root}")
    shutil.rmtree(folder)
    logger.info("deleted run %s", run_id)
