"""Checkpoints as dicts of plain types: atomic saving and loading with clear errors."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

REQUIRED_KEYS = (
    "model_state_dict",
    "optimizer_state_dict",
    "scheduler_state_dict",
    "vocab",
    "config",
    "epoch",
    "metrics",
)


class CheckpointError(Exception):
    """A checkpoint file is missing, unreadable or lacks required keys."""


def save_checkpoint(obj: dict, path: str | Path) -> Path:
    """Write ``obj`` with torch.save to a temporary file, then rename it over ``path``.

    Readers (the dashboard, a predictor) therefore never see a half-written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; others (the app, a reviewer) read it
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint with ``weights_only=True`` and check its keys.

    Raises:
        CheckpointError: the file is missing, corrupt, or not a checkpoint of this project.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several types for truncated or foreign files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"cannot read checkpoint {path}: corrupt or not a PyTorch checkpoint ({first[:120]})"
        ) from exc
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path} is not a checkpoint dict (found {type(obj).__name__})")
    missing = [key for key in REQUIRED_KEYS if key not in obj]
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks keys: {', '.join(missing)}")
    if not isinstance(obj["config"], dict) or "task" not in obj["config"]:
        raise CheckpointError(f"checkpoint {path} has no task in its config")
    return obj
