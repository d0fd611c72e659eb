"""Metrics for SMILES predictions: token-level scores, structure-level scores, breakdowns.

Two token-level measures are reported, because they answer different questions:

- teacher-forced (the headline "token accuracy" and F1): the decoder is fed the true previous
  tokens and we score its next-token choice at every non-padding target position. This is
  what the reference baseline (72% accuracy, macro F1 0.68) and the trainer's val_accuracy
  measure.
- free-running: the greedy decode is compared position by position with the target tokens;
  positions beyond the shorter sequence count as disagreements, so a decode that stops early
  or runs long is penalised. Far stricter, and closer to what a user sees.

Structure-level: exact match compares InChIKeys (so two spellings of one molecule agree),
validity is the fraction RDKit parses, and Tanimoto is Morgan similarity (0 when invalid).
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from chemnet import chem

LENGTH_BINS = (0, 10, 20, 30, 40, 60, 80, 1000)


def flatten_pairs(
    pairs: Iterable[tuple[Sequence[int], Sequence[int]]], pad_id: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate per-sample (predicted ids, target ids) into two aligned flat arrays.

    Args:
        pairs: per sample, the teacher-forced predicted token ids and the target token ids.
        pad_id: target positions holding this id are dropped (padding is not a prediction).

    Returns:
        (y_true, y_pred) as int arrays of equal length.
    """
    y_true: list[int] = []
    y_pred: list[int] = []
    for predicted, target in pairs:
        if len(predicted) != len(target):
            raise ValueError(f"length mismatch: {len(predicted)} predicted, {len(target)} target")
        for p, t in zip(predicted, target):
            if pad_id is not None and t == pad_id:
                continue
            y_true.append(int(t))
            y_pred.append(int(p))
    return np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)


def token_accuracy(y_true: Sequence, y_pred: Sequence) -> float:
    """Fraction of positions where the predicted token equals the target token."""
    if len(y_true) == 0:
        return 0.0
    return float(accuracy_score(y_true, y_pred))


def f1_scores(y_true: Sequence, y_pred: Sequence) -> dict[str, float]:
    """Macro F1 (every token class weighs the same) and weighted F1 (weighted by support).

    Classes are the tokens seen in either the targets or the predictions; a class never
    predicted, or never true, scores 0 for that class.
    """
    if len(y_true) == 0:
        return {"macro_f1": 0.0, "weighted_f1": 0.0}
    kwargs = {"zero_division": 0}
    return {
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", **kwargs)),
        "weighted_f1": float(f1_score(y_true, y_pred, average="weighted", **kwargs)),
    }


def per_token_table(
    y_true: Sequence, y_pred: Sequence, vocab: dict[int, str] | None = None
) -> pd.DataFrame:
    """Precision, recall, F1 and support per token, sorted by support (most frequent first).

    Args:
        y_true: flat target token ids.
        y_pred: flat predicted token ids.
        vocab: id -> token text; ids missing from it are shown as the id.
    """
    labels = sorted(set(np.asarray(y_true).tolist()) | set(np.asarray(y_pred).tolist()))
    columns = ["token", "precision", "recall", "f1", "support"]
    if not labels:
        return pd.DataFrame(columns=columns)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    table = pd.DataFrame(
        {
            "token": [_token_text(label, vocab) for label in labels],
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": support.astype(int),
        }
    )
    return table.sort_values(["support", "token"], ascending=[False, True]).reset_index(drop=True)


def token_confusion(
    y_true: Sequence, y_pred: Sequence, vocab: dict[int, str] | None = None
) -> tuple[np.ndarray, list[str]]:
    """The confusion matrix over tokens: rows are true tokens, columns predicted tokens.

    Returns:
        (matrix, labels), labels ordered by true-token support, most frequent first.
    """
    true_arr, pred_arr = np.asarray(y_true), np.asarray(y_pred)
    ids = sorted(set(true_arr.tolist()) | set(pred_arr.tolist()))
    support = {i: int((true_arr == i).sum()) for i in ids}
    ids.sort(key=lambda i: (-support[i], _token_text(i, vocab)))
    if not ids:
        return np.zeros((0, 0), dtype=np.int64), []
    matrix = confusion_matrix(true_arr, pred_arr, labels=ids)
    return matrix, [_token_text(i, vocab) for i in ids]


def top_confusion(
    matrix: np.ndarray, labels: list[str], n: int, normalise: bool = False
) -> tuple[np.ndarray, list[str]]:
    """The sub-matrix of the n most frequent true tokens, optionally row-normalised.

    Assumes labels are ordered by support, as token_confusion returns them. Row
    normalisation divides by the full row total, so a row shows where that token's
    predictions went, including to tokens outside the top n.
    """
    matrix = np.asarray(matrix)
    n = max(0, min(n, len(labels)))
    sub = matrix[:n, :n].astype(float)
    if normalise:
        totals = matrix[:n, :].sum(axis=1, keepdims=True).astype(float)
        sub = np.divide(sub, totals, out=np.zeros_like(sub), where=totals > 0)
    return sub, labels[:n]


def free_running_accuracy(
    predicted: Sequence[Sequence[Hashable]], targets: Sequence[Sequence[Hashable]]
) -> float:
    """Position-wise agreement of decoded token sequences with the targets.

    Sum over samples of the positions where both agree, divided by the sum over samples of
    the longer of the two lengths.
    """
    agree = total = 0
    for pred, true in zip(predicted, targets, strict=True):
        agree += sum(1 for p, t in zip(pred, true) if p == t)
        total += max(len(pred), len(true))
    return agree / total if total else 0.0


def exact_matches(predicted: Sequence[str | None], targets: Sequence[str]) -> list[bool]:
    """Per sample, whether the predicted structure is the target molecule (same InChIKey).

    An invalid prediction never matches; neither does a target RDKit cannot read.
    """
    matches = []
    for pred, true in zip(predicted, targets, strict=True):
        if pred is not None and pred == true:  # same string: skip the InChI, which is slow
            matches.append(chem.is_valid_smiles(true))
            continue
        key_true = chem.inchikey_from_smiles(true)
        key_pred = chem.inchikey_from_smiles(pred)
        matches.append(key_true is not None and key_pred == key_true)
    return matches


def validity(predicted: Sequence[str | None]) -> float:
    """Fraction of predictions RDKit can parse."""
    if not predicted:
        return 0.0
    return sum(chem.is_valid_smiles(s) for s in predicted) / len(predicted)


def tanimoto_scores(predicted: Sequence[str | None], targets: Sequence[str]) -> list[float]:
    """Per-sample Morgan Tanimoto similarity between prediction and target (0 when invalid)."""
    return [chem.tanimoto(p, t) for p, t in zip(predicted, targets, strict=True)]


def histogram(values: Sequence[float], bins: int = 10, value_range=(0.0, 1.0)) -> dict:
    """Counts in equal-width bins, as plain lists: {"edges": [...], "counts": [...]}."""
    counts, edges = np.histogram(np.asarray(values, dtype=float), bins=bins, range=value_range)
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


def rate_by_group(groups: Sequence[Hashable], correct: Sequence[bool]) -> pd.DataFrame:
    """Count and fraction correct per group (e.g. name kind or renderer), largest group first."""
    frame = pd.DataFrame({"group": list(groups), "correct": [bool(c) for c in correct]})
    if frame.empty:
        return pd.DataFrame(columns=["group", "n", "accuracy"])
    table = frame.groupby("group", sort=False)["correct"].agg(n="size", accuracy="mean")
    table = table.reset_index()
    return table.sort_values(["n", "group"], ascending=[False, True], ignore_index=True)


def rate_by_length(
    lengths: Sequence[int], correct: Sequence[bool], bins: Sequence[int] = LENGTH_BINS
) -> pd.DataFrame:
    """Count and fraction correct per target-length bin, labelled like "10-19"."""
    labels = [f"{lo}-{hi - 1}" for lo, hi in itertools.pairwise(bins)]
    values = pd.Series(list(lengths), dtype=float)
    binned = pd.cut(values, bins=list(bins), right=False, labels=labels)
    frame = pd.DataFrame({"length": binned, "correct": [bool(c) for c in correct]})
    table = frame.groupby("length", observed=True)["correct"].agg(n="size", accuracy="mean")
    return table.reset_index().astype({"length": str})


def _token_text(token_id: int, vocab: dict[int, str] | None) -> str:
    if vocab is None:
        return str(token_id)
    return vocab.get(int(token_id), str(token_id))
