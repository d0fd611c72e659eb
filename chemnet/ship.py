"""Ship a run's best checkpoint: `python -m chemnet.ship --run RUN_ID --task name`.

Copies results/runs/<run>/best.pth to models/<model>.pth (all checkpoint keys kept), writes
the epoch history the Training page shows (results/training_history.csv for the name model)
and the model card models/<model>.json with test-split metrics from chemnet.evaluate. A run
fine-tuned from the shipped model it replaces (--init-from) continues that model's history
and training totals.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

import torch

from chemnet import paths
from chemnet.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from chemnet.runfiles import HISTORY_COLUMNS, write_json_atomic

logger = logging.getLogger(__name__)

MODEL_FILES = {"name": "name2smiles", "image": "image2smiles"}


def history_path(task: str) -> Path:
    name = "training_history.csv" if task == "name" else f"{task}_training_history.csv"
    return paths.RESULTS_DIR / name


def read_history(path: Path, last_epoch: int | None = None) -> list[dict]:
    """History rows up to last_epoch (all when None); empty when the file is missing."""
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [r for r in rows if last_epoch is None or int(float(r["epoch"])) <= last_epoch]


def write_history(rows: list[dict], out: Path) -> int:
    """Keep the five reference columns; returns the number of rows written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, HISTORY_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def parent_model(config: dict, target: Path, task: str) -> tuple[list[dict], dict | None]:
    """History and training totals of the model a run started from (--init-from).

    Two parents count: the shipped file the run now replaces (its card and the shipped
    history), and a checkpoint inside another run folder (that run's history up to the
    checkpoint's epoch). Either way the shipped history goes on from the parent's epochs, so
    the Training page shows the whole way the model learned. Any other file starts afresh.
    """
    init = config.get("init_from")
    if not init:
        return [], None
    card_path = target.with_suffix(".json")
    if Path(init).resolve() == target.resolve() and card_path.is_file():
        card = json.loads(card_path.read_text())
        return read_history(history_path(task)), card
    return parent_run(Path(init))


def parent_run(checkpoint: Path) -> tuple[list[dict], dict | None]:
    """A run folder's history up to ``checkpoint``'s epoch, with a card-like summary."""
    history = checkpoint.parent / "history.csv"
    if not (checkpoint.is_file() and history.is_file()):
        return [], None
    ckpt = load_checkpoint(checkpoint)
    epoch, metrics = int(ckpt["epoch"]), ckpt.get("metrics", {})
    # The parent may itself have been started from a run; follow the chain back.
    earlier = ckpt["config"].get("init_from")
    rows, grandparent = parent_run(Path(earlier)) if earlier else ([], None)
    before = grandparent["training"] if grandparent else {"epochs": 0, "seconds": 0.0, "steps": 0}
    training = {
        "epochs": epoch + int(before["epochs"]),
        "seconds": float(metrics.get("train_seconds") or 0.0) + float(before["seconds"] or 0.0),
        "steps": int(metrics.get("step") or 0) + int(before.get("steps") or 0),
    }
    parent = {"run_id": ckpt["config"].get("run_id"), "training": training}
    if grandparent:
        parent["fine_tuned_from"] = {"lineage": [
            *grandparent.get("fine_tuned_from", {}).get("lineage", []),
            grandparent.get("run_id")]}
    return continue_history(rows, read_history(history, epoch)), parent


def continue_history(parent_rows: list[dict], rows: list[dict]) -> list[dict]:
    """The run's rows numbered after the parent's epochs."""
    offset = len(parent_rows)
    return parent_rows + [{**r, "epoch": int(float(r["epoch"])) + offset} for r in rows]


def split_counts(config: dict) -> dict:
    """Pairs per split and name kind in the data the run used (empty if the data is gone)."""
    path = Path(config.get("data_dir") or paths.DATA_DIR) / paths.NAMES_PARQUET.name
    if config.get("task") != "name" or not path.is_file():
        return {}
    import pandas as pd

    frame = pd.read_parquet(path, columns=["kind", "split"])
    table = frame.groupby(["split", "kind"]).size()
    return {split: {kind: int(n) for kind, n in table[split].items()}
            for split in table.index.get_level_values(0).unique()}


def hardware(config: dict) -> dict:
    return {
        "device": config.get("device_used", "cpu"),
        "processes": config.get("world_size", 1),
        "threads_per_process": config.get("num_threads") or torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "note": "CPU cores shared with other jobs while training",
    }


def model_card(ckpt: dict, run_id: str, history_rows: int, test: dict | None,
               parent: dict | None = None) -> dict:
    config = ckpt["config"]
    metrics = ckpt["metrics"]
    before = parent["training"] if parent else {"epochs": 0, "seconds": 0.0, "steps": 0}
    card = {
        "task": config["task"],
        "variant": config.get("variant"),
        "run_id": run_id,
        "config": config,
        "data": {**config.get("data", {}), "pairs_by_split": split_counts(config)},
        "training": {
            "epochs": int(ckpt["epoch"]) + int(before["epochs"]),
            "history_epochs": history_rows,
            "steps": int(metrics.get("step") or 0) + int(before.get("steps") or 0),
            "seconds": round(float(metrics.get("train_seconds", 0.0))
                             + float(before.get("seconds") or 0.0), 1),
            "hardware": hardware(config),
            "val": {k: metrics[k] for k in ("val_loss", "val_accuracy", "val_exact")
                    if k in metrics},
        },
        "test": test,
        "shipped": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    if parent:
        card["fine_tuned_from"] = {
            "run_id": parent.get("run_id"),
            "epochs": before["epochs"],
            "seconds": before.get("seconds"),
            "lineage": [*parent.get("fine_tuned_from", {}).get("lineage", []),
                        parent.get("run_id")],
        }
    return card


def ship(run_id: str, task: str = "name", runs_dir: Path | None = None,
         evaluate: bool = True, eval_limit: int | None = None) -> dict:
    """Copy the best checkpoint, write history and model card; returns the card."""
    run_dir = Path(runs_dir or paths.RUNS_DIR) / run_id
    ckpt = load_checkpoint(run_dir / "best.pth")
    if ckpt["config"]["task"] != task:
        raise CheckpointError(f"run {run_id} trained task {ckpt['config']['task']!r}, not {task!r}")
    target = paths.MODELS_DIR / f"{MODEL_FILES.get(task, task)}.pth"
    parent_rows, parent = parent_model(ckpt["config"], target, task)
    save_checkpoint(ckpt, target)
    own_rows = read_history(run_dir / "history.csv", int(ckpt["epoch"]))
    rows = write_history(continue_history(parent_rows, own_rows), history_path(task))
    logger.info("shipped %s epoch %d to %s", run_id, ckpt["epoch"], target)
    test = None
    if evaluate:
        from chemnet.evaluate import evaluate_checkpoint, headline

        test = headline(evaluate_checkpoint(target, split="test", limit=eval_limit))
        test["limit"] = eval_limit
    card = model_card(ckpt, run_id, rows, test, parent)
    write_json_atomic(target.with_suffix(".json"), card)
    return card


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chemnet.ship", description=__doc__)
    parser.add_argument("--run", required=True, help="run id under results/runs/")
    parser.add_argument("--task", default="name")
    parser.add_argument("--runs-dir", default=None)
    parser.add_argument("--no-eval", action="store_true", help="skip the test-split evaluation")
    parser.add_argument("--eval-limit", type=int, default=None,
                        help="evaluate a random sample of this many test examples")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        card = ship(args.run, args.task, Path(args.runs_dir) if args.runs_dir else None,
                    evaluate=not args.no_eval, eval_limit=args.eval_limit)
    except (CheckpointError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"training": card["training"], "test": card["test"]}, indent=2,
                     default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
