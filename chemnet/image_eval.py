"""Image-model test figures with and without the molecular formula, for the model card.

``chemnet.evaluate`` scores the image model as a user meets it, from the drawing alone; this
module scores the same drawings twice, without and with the formula given to the descriptor
branch, so the card shows what the formula adds.

    python -m chemnet.image_eval [--model models/image2smiles.pth] [--limit 300] [--update-card]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from chemnet import eval_data, metrics, paths
from chemnet.tokenizer import PAD_ID

logger = logging.getLogger(__name__)

BATCH = 64


def score(predictor, images: list, targets: list[str], formulas: list | None) -> dict:
    """Teacher-forced token accuracy and F1, exact match, validity and Tanimoto of one pass."""
    predicted, pairs = [], []
    started = time.perf_counter()
    for start in range(0, len(images), BATCH):
        chunk = slice(start, start + BATCH)
        forms = formulas[chunk] if formulas is not None else None
        predicted += [p.canonical_smiles for p in
                      predictor.predict(images[chunk], formulas=forms)]
        pairs += predictor.teacher_forced(images[chunk], targets[chunk], formulas=forms)
    y_true, y_pred = metrics.flatten_pairs(pairs, pad_id=PAD_ID)
    f1 = metrics.f1_scores(y_true, y_pred)
    similarity = metrics.tanimoto_scores(predicted, targets)
    return {
        "token_accuracy": metrics.token_accuracy(y_true, y_pred),
        "macro_f1": f1["macro_f1"],
        "exact_match": sum(metrics.exact_matches(predicted, targets)) / len(targets),
        "validity": metrics.validity(predicted),
        "tanimoto": sum(similarity) / len(similarity),
        "seconds_per_image": (time.perf_counter() - started) / len(images),
    }


def evaluate_formula(path: str | Path, split: str = "test", limit: int | None = 300,
                     data_dir: str | Path | None = None, max_atoms: int | None = None) -> dict:
    """Figures without and with formulas on the evaluation drawings of a split.

    ``max_atoms`` keeps molecules up to that many heavy atoms (the training limit, say).
    """
    from chemnet.predict import load_predictor

    predictor = load_predictor(path)
    frame = eval_data.load("image", split, None, data_dir, seed=0)
    if max_atoms:
        sizes = frame["smiles"].map(_heavy_atoms)
        frame = frame[sizes <= max_atoms].reset_index(drop=True)
    if limit is not None and limit < len(frame):
        frame = frame.sample(n=limit, random_state=0).reset_index(drop=True)
    images = eval_data.model_inputs("image", frame)
    targets = frame["smiles"].tolist()
    return {
        "n": len(frame),
        "split": split,
        "max_atoms": max_atoms,
        "by_style": frame["group"].value_counts().to_dict(),
        "without_formula": score(predictor, images, targets, None),
        "with_formula": score(predictor, images, targets, frame["formula"].tolist()),
    }


def _heavy_atoms(smiles: str) -> int:
    from chemnet import chem

    mol = chem.parse_smiles(smiles)
    return mol.GetNumHeavyAtoms() if mol is not None else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chemnet.image_eval", description=__doc__)
    parser.add_argument("--model", default=str(paths.IMAGE_MODEL))
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--max-atoms", type=int, default=None)
    parser.add_argument("--update-card", action="store_true",
                        help="store the figures as 'test_formula' in the model card beside it")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    try:
        result = evaluate_formula(args.model, args.split, args.limit, max_atoms=args.max_atoms)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    if args.update_card:
        card_path = Path(args.model).with_suffix(".json")
        card = json.loads(card_path.read_text()) if card_path.exists() else {}
        card["test_formula"] = result
        card_path.write_text(json.dumps(card, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
