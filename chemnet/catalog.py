"""What the project holds right now: the built data and the shipped models' cards.

Read-only summaries for the app's overview; every reader tolerates missing or half-written
files, because builds and training runs write beside us. Runs are listed by chemnet.runs.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

MANIFEST = "build.json"
# The reference dataset the project is compared with (see README, "Data").
REFERENCE_COUNTS = {"molecules": 42_149, "pairs": 120_000, "train": 29_503, "val": 6_323,
                    "test": 6_323}
# Headline test metrics of a model card, in the order the overview shows them.
CARD_METRICS = ("token_accuracy", "macro_f1", "exact_match", "validity", "tanimoto")


def read_json(path: Path) -> dict | None:
    """Parse a JSON object from path, or None when it is missing, partial or not an object."""
    try:
        value = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        logger.debug("cannot read %s: %s", path, exc)
        return None
    return value if isinstance(value, dict) else None


def data_summary(data_dir: Path) -> dict | None:
    """Counts and build time of the data in data_dir, from its build manifest.

    Returns:
        {"counts": {...}, "seconds": float | None, "limit": int | None}, or None when no
        complete build is there.
    """
    manifest = read_json(Path(data_dir) / MANIFEST)
    if not manifest or not isinstance(manifest.get("counts"), dict):
        return None
    return {
        "counts": manifest["counts"],
        "seconds": manifest.get("seconds"),
        "limit": manifest.get("limit"),
    }


def model_cards(models_dir: Path) -> list[dict]:
    """One flat row per model card (models/*.json) with its headline test metrics.

    Returns:
        Rows with model, task, variant, epochs, training_min, shipped (date), checkpoint
        (whether the .pth beside the card exists), the validation accuracy of training and the
        CARD_METRICS found under "test"; unreadable cards are skipped.
    """
    rows = []
    for path in sorted(Path(models_dir).glob("*.json")):
        card = read_json(path)
        if card is None or "task" not in card:
            continue  # calibration files and other JSON that are not model cards
        config = card.get("config") if isinstance(card.get("config"), dict) else {}
        training = card.get("training") if isinstance(card.get("training"), dict) else {}
        test = card.get("test") if isinstance(card.get("test"), dict) else {}
        seconds = training.get("seconds")
        row = {
            "model": path.stem,
            "task": card.get("task"),
            "variant": card.get("variant") or config.get("variant"),
            "epochs": training.get("epochs"),
            "training_min": round(seconds / 60, 1) if isinstance(seconds, int | float) else None,
            "shipped": card.get("shipped"),
            "checkpoint": path.with_suffix(".pth").exists(),
        }
        validation = training.get("val") if isinstance(training.get("val"), dict) else {}
        if isinstance(validation.get("val_accuracy"), int | float):
            row["val_accuracy"] = validation["val_accuracy"]  # shown before a test evaluation
        row.update({m: test.get(m) for m in CARD_METRICS if isinstance(test.get(m), int | float)})
        rows.append(row)
    return rows
