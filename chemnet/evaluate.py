"""Evaluate a checkpoint on a data split; `python -m chemnet.evaluate --model PATH`.

Results are cached as JSON in results/eval/, keyed by the checkpoint's content hash, the
split, the example limit and the beam width, so the Evaluation page and the model card show
them instantly once computed. The metric definitions live in chemnet.metrics.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from chemnet import eval_data, metrics, paths
from chemnet.tokenizer import smiles_tokens

logger = logging.getLogger(__name__)

BATCH_SIZE = 128
ERROR_SAMPLE = 60
SAMPLE_SEED = 0
HEADLINE = (
    "token_accuracy",
    "macro_f1",
    "weighted_f1",
    "free_running_accuracy",
    "exact_match",
    "validity",
    "tanimoto",
)
Progress = Callable[[float, str], None]


def evaluate_checkpoint(
    path: str | Path,
    split: str = "test",
    limit: int | None = None,
    data_dir: str | Path | None = None,
    beam: int = 1,
    *,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
) -> dict:
    """Evaluate one checkpoint on a split and return (and cache) every figure of the report.

    Args:
        path: a .pth checkpoint of the name or the image model.
        split: "train", "val" or "test".
        limit: evaluate a fixed random sample of this many examples; None for the whole split.
        data_dir: folder holding molecules.parquet and names.parquet; default data/.
        beam: beam width of the free-running decode (1 is greedy).
        cache_dir: where result JSON files live; default results/eval/.
        use_cache: return a cached result when one exists for the same key.
        progress: optional callback(fraction, message) for long evaluations.

    Returns:
        A JSON-ready dict: headline figures (fractions in 0..1), by_kind or by_renderer,
        by_length, per_token, confusion, tanimoto_histogram, errors and per-example records.

    Raises:
        chemnet.checkpoint.CheckpointError: the checkpoint is missing or unreadable.
        ValueError: unknown split, or no examples for it.
    """
    from chemnet.predict import load_predictor  # torch is loaded only when needed

    if limit is not None and limit < 1:
        raise ValueError(f"limit must be a positive number of examples, got {limit}")
    if beam < 1:
        raise ValueError(f"beam must be at least 1, got {beam}")
    path = Path(path)
    cache_file = cache_path(path, split, limit, beam, cache_dir)
    if use_cache and cache_file.exists():
        logger.info("cached evaluation %s", cache_file)
        return json.loads(cache_file.read_text())

    started = time.monotonic()
    predictor = load_predictor(path)
    task = _task_of(predictor)
    frame = eval_data.load(task, split, limit, data_dir, seed=SAMPLE_SEED)
    logger.info("evaluating %s on %d %s examples (%s task)", path, len(frame), split, task)
    records, token_pairs = _run(predictor, task, frame, beam, progress)
    result = summarise(records, token_pairs, predictor.target_vocab, task)
    result.update(
        checkpoint=str(path),
        checkpoint_sha256=file_hash(path),
        task=task,
        split=split,
        limit=limit,
        beam=beam,
        seconds=round(time.monotonic() - started, 2),
        created=time.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    _write_json(cache_file, result)
    return result


def cached_result(
    path: str | Path,
    split: str = "test",
    limit: int | None = None,
    beam: int = 1,
    cache_dir: str | Path | None = None,
) -> dict | None:
    """The cached evaluation for this key, or None; never runs the model."""
    cache_file = cache_path(Path(path), split, limit, beam, cache_dir)
    return json.loads(cache_file.read_text()) if cache_file.exists() else None


def cache_path(
    path: Path, split: str, limit: int | None, beam: int, cache_dir: str | Path | None = None
) -> Path:
    """results/eval/<stem>-<hash12>-<split>-<limit or all>-b<beam>.json"""
    folder = Path(cache_dir) if cache_dir is not None else paths.EVAL_DIR
    count = "all" if limit is None else str(int(limit))
    return folder / f"{path.stem}-{file_hash(path)[:12]}-{split}-{count}-b{beam}.json"


_HASHES: dict[tuple, str] = {}


def file_hash(path: str | Path) -> str:
    """SHA-256 of the file's bytes, memoised on (path, size, mtime) since pages ask often."""
    path = Path(path)
    try:
        stat = path.stat()
    except FileNotFoundError:
        from chemnet.checkpoint import CheckpointError

        raise CheckpointError(f"checkpoint not found: {path}") from None
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _HASHES:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]


def _task_of(predictor) -> str:
    task = getattr(predictor, "task", None) or predictor.config.get("task", "name")
    return str(task)


def _run(predictor, task: str, frame: pd.DataFrame, beam: int, progress: Progress | None):
    """Free-running predictions and teacher-forced token pairs, batch by batch."""
    records: list[dict] = []
    token_pairs: list[tuple[list[int], list[int]]] = []
    total = len(frame)
    for start in range(0, total, BATCH_SIZE):
        batch = frame.iloc[start : start + BATCH_SIZE]
        inputs = eval_data.model_inputs(task, batch)
        targets = batch["smiles"].tolist()
        predictions = eval_data.predict(predictor, inputs, beam)
        pairs = predictor.teacher_forced(inputs, targets)
        token_pairs.extend((list(map(int, p)), list(map(int, t))) for p, t in pairs)
        records.extend(
            _record(row, pred, pair)
            for row, pred, pair in zip(batch.to_dict("records"), predictions, pairs, strict=True)
        )
        done = min(start + BATCH_SIZE, total)
        if progress is not None:
            progress(done / total, f"{done} / {total} examples")
        logger.info("evaluated %d / %d", done, total)
    return records, token_pairs


def _record(row: dict, prediction, pair) -> dict:
    """One example's outcome, everything the page's gallery and routing matrix need."""
    predicted, target = pair
    agree = sum(int(p) == int(t) for p, t in zip(predicted, target))
    return {
        "input": row["input"],
        "group": row["group"],
        "render_seed": row.get("render_seed"),
        "true_smiles": row["smiles"],
        "predicted_smiles": prediction.smiles,
        "canonical_smiles": prediction.canonical_smiles,
        "valid": bool(prediction.valid),
        "confidence": float(prediction.confidence),
        "alternatives": [[s, float(c)] for s, c in (prediction.alternatives or [])],
        "length": len(smiles_tokens(row["smiles"])),
        "tf_correct": agree,
        "tf_total": len(target),
    }


def summarise(records: list[dict], token_pairs, vocab, task: str) -> dict:
    """All figures from the per-example records and the teacher-forced token pairs."""
    vocab = _vocab_map(vocab)
    pad_id = _pad_id(vocab)
    y_true, y_pred = metrics.flatten_pairs(token_pairs, pad_id=pad_id)
    predicted = [r["predicted_smiles"] for r in records]
    targets = [r["true_smiles"] for r in records]
    correct = metrics.exact_matches(predicted, targets)
    similarity = metrics.tanimoto_scores(predicted, targets)
    for record, ok, sim in zip(records, correct, similarity):
        record["correct"], record["tanimoto"] = ok, round(sim, 4)
    matrix, labels = metrics.token_confusion(y_true, y_pred, vocab)
    result = {
        "n": len(records),
        "tokens": len(y_true),
        "token_accuracy": metrics.token_accuracy(y_true, y_pred),
        **metrics.f1_scores(y_true, y_pred),
        "free_running_accuracy": metrics.free_running_accuracy(
            [smiles_tokens(p or "") for p in predicted], [smiles_tokens(t) for t in targets]
        ),
        "exact_match": sum(correct) / len(records) if records else 0.0,
        "validity": metrics.validity(predicted),
        "tanimoto": sum(similarity) / len(similarity) if similarity else 0.0,
        "by_length": metrics.rate_by_length([r["length"] for r in records], correct).to_dict(
            "records"
        ),
        "per_token": metrics.per_token_table(y_true, y_pred, vocab).to_dict("records"),
        "confusion": {"labels": labels, "matrix": matrix.tolist()},
        "tanimoto_histogram": metrics.histogram(similarity),
        "errors": pick_errors(records, count=ERROR_SAMPLE),
        "records": records,
    }
    breakdown = group_breakdown(records, token_pairs, pad_id)
    result["by_renderer" if task == "image" else "by_kind"] = breakdown
    return result


ERROR_KINDS = ("any error", "invalid SMILES", "valid, wrong molecule")


def pick_errors(
    records: list[dict], group: str | None = None, kind: str = "any error", count: int = 10
) -> list[dict]:
    """The wrong predictions of one group and kind, the most confident mistakes first.

    Confident mistakes come first because they are the ones auto mode would accept.
    """
    if kind not in ERROR_KINDS:
        raise ValueError(f"unknown error kind {kind!r}; expected one of {ERROR_KINDS}")
    wrong = [
        r
        for r in records
        if not r["correct"]
        and (group is None or r["group"] == group)
        and (kind == "any error" or r["valid"] == (kind == "valid, wrong molecule"))
    ]
    return sorted(wrong, key=lambda r: -r["confidence"])[:count]


def group_breakdown(records: list[dict], token_pairs=None, pad_id: int | None = None
                    ) -> dict[str, dict]:
    """Per name kind (or renderer): count, exact match, teacher-forced token accuracy and
    macro F1 (when the token pairs, in record order, are given), validity, Tanimoto."""
    frame = pd.DataFrame(records)
    if frame.empty:
        return {}
    out = {}
    for group, rows in frame.groupby("group", sort=True):
        tokens = int(rows["tf_total"].sum())
        out[str(group)] = {
            "n": len(rows),
            "exact_match": float(rows["correct"].mean()),
            "token_accuracy": float(rows["tf_correct"].sum() / tokens) if tokens else 0.0,
            "validity": float(rows["valid"].mean()),
            "tanimoto": float(rows["tanimoto"].mean()),
        }
        if token_pairs is not None:
            pairs = [token_pairs[i] for i in rows.index]
            y_true, y_pred = metrics.flatten_pairs(pairs, pad_id=pad_id)
            out[str(group)]["macro_f1"] = metrics.f1_scores(y_true, y_pred)["macro_f1"]
    return out


def _vocab_map(vocab) -> dict[int, str]:
    """id -> token, from a list (itos), a dict, or an object with .itos."""
    if hasattr(vocab, "itos"):
        vocab = vocab.itos
    if isinstance(vocab, dict):
        return {int(k): str(v) for k, v in vocab.items()}
    return {i: str(t) for i, t in enumerate(vocab)}


def _pad_id(vocab: dict[int, str]) -> int | None:
    return next((i for i, t in vocab.items() if t == "<pad>"), None)


def _write_json(path: Path, obj: dict) -> None:
    """Write atomically, since the page may read the cache while an evaluation finishes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(obj, handle)
    os.replace(tmp, path)


def headline(result: dict) -> dict:
    """The figures the CLI prints and the model card keeps."""
    keys = ("task", "split", "n", *HEADLINE, "by_kind", "by_renderer", "seconds")
    return {k: result[k] for k in keys if k in result}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chemnet.evaluate", description=__doc__)
    parser.add_argument("--model", default=str(paths.NAME_MODEL), help="checkpoint (.pth)")
    parser.add_argument("--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("--limit", type=int, default=None, help="random sample of N examples")
    parser.add_argument("--beam", type=int, default=1)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--no-cache", action="store_true", help="recompute even when cached")
    parser.add_argument("--json", action="store_true", help="print the headline figures as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    from chemnet.checkpoint import CheckpointError

    try:
        result = evaluate_checkpoint(
            args.model,
            args.split,
            args.limit,
            args.data_dir,
            args.beam,
            use_cache=not args.no_cache,
        )
    except (CheckpointError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = headline(result)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_summary(summary))
    return 0


def format_summary(summary: dict) -> str:
    """A short human-readable report next to the reference baseline."""
    lines = [f"{summary['task']} model, {summary['split']} split, {summary['n']} examples"]
    for key in HEADLINE:
        lines.append(f"  {key:<22} {summary[key]:.4f}")
    lines.append("  reference baseline     token_accuracy 0.72, macro_f1 0.68")
    groups = summary.get("by_kind") or summary.get("by_renderer") or {}
    for group, figures in groups.items():
        lines.append(
            f"  {group:<14} n={figures['n']:<6} exact {figures['exact_match']:.3f} "
            f"token {figures['token_accuracy']:.3f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
