"""How auto mode's acceptance rule routes evaluated examples: accepted or not, correct or not.

A good rule accepts the model's correct answers and sends its wrong ones to the store; the
2x2 table shows both kinds of mistake (wrong answers accepted, right answers rejected).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

Accept = Callable[..., tuple[bool, str]]
Lookup = Callable[[str], object]


def store_matches(records: list[dict], lookup: Lookup) -> list:
    """The store's match (or None) for every example's input, as auto mode would look it up."""
    return [lookup(record["input"]) for record in records]


def route(
    records: list[dict],
    threshold: float,
    matches: list | None = None,
    accept: Accept | None = None,
) -> list[dict]:
    """Apply the acceptance rule to every evaluated example.

    Args:
        records: per-example records from chemnet.evaluate (input, predicted SMILES, ...).
        threshold: the confidence threshold auto mode uses.
        matches: per record, the store match from store_matches; None skips the store check,
            as for names the store does not know.
        accept: the rule; default chemnet.chat.accept_model_answer.

    Returns:
        One dict per example: input, accepted, correct, reason.
    """
    if accept is None:
        from chemnet.chat import accept_model_answer as accept
    from chemnet.predict import Prediction

    routed = []
    matches = matches if matches is not None else [None] * len(records)
    for record, match in zip(records, matches, strict=True):
        prediction = Prediction(
            input=record["input"],
            smiles=record["predicted_smiles"],
            canonical_smiles=record["canonical_smiles"],
            valid=record["valid"],
            confidence=record["confidence"],
            alternatives=[tuple(a) for a in record.get("alternatives", [])],
        )
        accepted, reason = accept(prediction, match, threshold)
        routed.append(
            {
                "input": record["input"],
                "accepted": bool(accepted),
                "correct": bool(record["correct"]),
                "reason": reason,
            }
        )
    return routed


def routing_matrix(routed: list[dict]) -> dict:
    """Counts of accepted/rejected x correct/wrong, and what the rule gets right overall.

    Returns:
        {"counts": {"accepted": {"correct": n, "wrong": n}, "rejected": {...}},
         "precision": fraction of accepted answers that are correct,
         "recall": fraction of correct answers that were accepted,
         "routing_accuracy": fraction routed the right way, "reasons": {reason: n}}
    """
    counts = {side: {"correct": 0, "wrong": 0} for side in ("accepted", "rejected")}
    for item in routed:
        side = "accepted" if item["accepted"] else "rejected"
        counts[side]["correct" if item["correct"] else "wrong"] += 1
    accepted = counts["accepted"]["correct"] + counts["accepted"]["wrong"]
    correct = counts["accepted"]["correct"] + counts["rejected"]["correct"]
    right_way = counts["accepted"]["correct"] + counts["rejected"]["wrong"]
    return {
        "counts": counts,
        "precision": counts["accepted"]["correct"] / accepted if accepted else 0.0,
        "recall": counts["accepted"]["correct"] / correct if correct else 0.0,
        "routing_accuracy": right_way / len(routed) if routed else 0.0,
        "reasons": dict(Counter(_reason_kind(item["reason"]) for item in routed).most_common()),
    }


def _reason_kind(reason: str) -> str:
    """The reason with its numbers blanked, so reasons group by kind, not by confidence."""
    return re.sub(r"\d+(\.\d+)?", "x", reason)
