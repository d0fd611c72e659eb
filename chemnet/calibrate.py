"""Calibrate the confidence above which auto mode trusts the name model.

On names of the validation split, the threshold is the lowest per-sequence confidence at which
the accepted answers are still right at least `target` of the time (0.95 by default). It is
written beside the checkpoint (models/name2smiles.calibration.json) and read by the chat.
`python -m chemnet.calibrate [--model models/name2smiles.pth --limit 1000 --target 0.95]`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import time
from functools import lru_cache
from pathlib import Path

from chemnet import chem, paths

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.7  # used until a calibration exists; deliberately cautious
DEFAULT_TARGET = 0.95
BATCH = 64


def calibration_path(model_path: Path | str) -> Path:
    """Where the calibration of a checkpoint lives: beside it, `<stem>.calibration.json`."""
    model_path = Path(model_path)
    return model_path.with_name(f"{model_path.stem}.calibration.json")


def load_threshold(model_path: Path | str) -> float | None:
    """The calibrated threshold for a checkpoint, or None when it has not been calibrated.

    A calibration made for another checkpoint (the file was replaced since) does not count.
    """
    model_path = Path(model_path)
    path = calibration_path(model_path)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return None
    model_stamp = model_path.stat().st_mtime_ns if model_path.exists() else -1
    return _read_threshold(path, stamp, model_path, model_stamp)


@lru_cache(maxsize=16)
def _read_threshold(path: Path, stamp: int, model_path: Path, model_stamp: int) -> float | None:
    try:
        saved = json.loads(path.read_text())
        value = float(saved["threshold"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning("ignoring unreadable calibration %s: %s", path, exc)
        return None
    expected = saved.get("checkpoint_sha256")
    if expected and model_stamp >= 0 and expected != file_sha256(model_path):
        logger.warning("ignoring %s: it was made for another version of %s", path.name,
                       model_path.name)
        return None
    return min(max(value, 0.0), 1.0)


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def choose_threshold(confidences: list[float], correct: list[bool],
                     target: float = DEFAULT_TARGET) -> dict:
    """The lowest threshold whose accepted answers reach the target precision.

    Args:
        confidences: the model's confidence per validation name.
        correct: whether each answer was the right molecule.
        target: the precision wanted among accepted answers.

    Returns:
        A dict with threshold, precision and coverage at that threshold; when no threshold
        reaches the target, threshold is 1.0 (never trust the model) and reached is False.
    """
    pairs = sorted(zip(confidences, correct), key=lambda p: p[0], reverse=True)
    best = None
    right = 0
    for i, (confidence, ok) in enumerate(pairs, start=1):
        right += bool(ok)
        # Ties share one threshold, so only the last of a tied run may be chosen.
        if i < len(pairs) and pairs[i][0] == confidence:
            continue
        if right / i >= target:
            best = {"threshold": float(confidence), "precision": right / i, "accepted": i}
    total = len(pairs)
    if best is None:
        return {"threshold": 1.0, "precision": None, "coverage": 0.0, "reached": False,
                "target": target, "n": total}
    return {"threshold": round(best["threshold"], 6), "precision": round(best["precision"], 4),
            "coverage": round(best["accepted"] / total, 4), "reached": True, "target": target,
            "n": total}


def validation_names(data_dir: Path | None = None, split: str = "val",
                     limit: int | None = 1000, seed: int = 0):
    """A reproducible sample of (name, smiles) rows of one split."""
    import pandas as pd

    frame = pd.read_parquet(Path(data_dir or paths.DATA_DIR) / "names.parquet",
                            columns=["name", "smiles", "split"])
    frame = frame[frame["split"] == split]
    if limit and len(frame) > limit:
        frame = frame.sample(n=limit, random_state=seed)
    return frame.reset_index(drop=True)


def calibrate(model_path: Path | str | None = None, data_dir: Path | None = None,
              split: str = "val", limit: int | None = 1000, target: float = DEFAULT_TARGET,
              write: bool = True) -> dict:
    """Run the name model on validation names and write its calibrated threshold.

    Returns:
        The calibration dict that was written (threshold, precision, coverage, ...).
    """
    from chemnet.predict import load_predictor

    model_path = Path(model_path or paths.NAME_MODEL)
    rows = validation_names(data_dir, split, limit)
    if rows.empty:
        raise ValueError(f"no names in the {split} split")
    predictor = load_predictor(model_path)
    start = time.perf_counter()
    confidences, correct = [], []
    for begin in range(0, len(rows), BATCH):
        chunk = rows.iloc[begin:begin + BATCH]
        for prediction, target_smiles in zip(predictor.predict(list(chunk["name"])),
                                             chunk["smiles"]):
            confidences.append(float(prediction.confidence))
            correct.append(_same_molecule(prediction.canonical_smiles, target_smiles))
    result = choose_threshold(confidences, correct, target)
    result.update(model=model_path.name, checkpoint_sha256=file_sha256(model_path), split=split,
                  exact_match=sum(correct) / len(correct),
                  seconds=round(time.perf_counter() - start, 2), created=time.time())
    if write:
        _write_json(result, calibration_path(model_path))
    logger.info("calibrated %s: %s", model_path.name, result)
    return result


def _same_molecule(predicted: str | None, target: str) -> bool:
    if not predicted:
        return False
    return chem.canonical_smiles(predicted) == chem.canonical_smiles(target)


def _write_json(obj: dict, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2))
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Calibrate auto mode's confidence threshold.")
    parser.add_argument("--model", type=Path, default=paths.NAME_MODEL)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--split", default="val")
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--target", type=float, default=DEFAULT_TARGET)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = calibrate(args.model, args.data_dir, args.split, args.limit, args.target)
    except Exception as exc:  # a CLI reports the problem in one line
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
