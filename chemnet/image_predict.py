"""The image branch of prediction: a Predictor for image-model checkpoints and its CLI.

``python -m chemnet.predict image molecule.png [--formula C8H10N4O2] [--beam K] [--json]``
reads one drawing; ``--file paths.txt`` reads one image path per line (optionally followed by
a tab or spaces and a formula) and prints one JSON line per line, in order, with an error
line for a file that is missing or not an image.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from chemnet import chem, paths, render
from chemnet.decode import beam_search
from chemnet.nets.image_model import DESC_SIZE, build_image_model, formula_features, model_settings
from chemnet.tokenizer import BOS_ID, EOS_ID, PAD_ID, Vocab

logger = logging.getLogger(__name__)

BATCH = 32


class ImagePredictor:
    """Reads SMILES off drawings with a trained image model (thread-safe for inference)."""

    task = "image"

    def __init__(self, checkpoint: dict, device: str | torch.device = "cpu"):
        self.config = checkpoint["config"]
        self.vocab = Vocab.from_dict(checkpoint["vocab"]["target"])
        settings = model_settings(self.config.get("variant", "reference"), self.config.get("model"))
        self.model = build_image_model(self.config.get("variant", "reference"), len(self.vocab),
                                       **settings)
        self.model.load_state_dict(checkpoint["model_state_dict"])
        self.device = torch.device(device)
        self.model.to(self.device).eval()
        self.image_size = settings["image_size"]
        self.max_len = int(self.config.get("max_smiles_tokens", 100)) + 2

    @property
    def target_vocab(self) -> list[str]:
        """Token of each id (index = id)."""
        return list(self.vocab.itos)

    def tensors(self, inputs: Sequence, formulas: Sequence[str | None] | None = None):
        """Images (PIL or paths) and optional formulas -> (images (B,1,S,S), desc (B,D)).

        Raises:
            ValueError: an input is not a readable image or a formula is malformed.
        """
        formulas = list(formulas) if formulas is not None else [None] * len(inputs)
        if len(formulas) != len(inputs):
            raise ValueError("give one formula (or None) per image")
        arrays = [render.preprocess(_as_image(item), self.image_size) for item in inputs]
        images = torch.from_numpy(np.stack(arrays)).unsqueeze(1) if arrays else torch.zeros(
            0, 1, self.image_size, self.image_size)
        desc = torch.tensor([formula_features(f) for f in formulas], dtype=torch.float32)
        return images.to(self.device), desc.reshape(-1, DESC_SIZE).to(self.device)

    @torch.no_grad()
    def predict(self, inputs: Sequence, beam: int = 1,
                formulas: Sequence[str | None] | None = None) -> list:
        """One Prediction per image, best hypothesis first in ``alternatives`` order."""
        from chemnet.predict import Prediction  # the shared result type lives there

        results = []
        formulas = list(formulas) if formulas is not None else [None] * len(inputs)
        for start in range(0, len(inputs), BATCH):
            chunk = list(inputs[start : start + BATCH])
            images, desc = self.tensors(chunk, formulas[start : start + BATCH])
            beams = beam_search(self.model, images, desc, beam=max(1, int(beam)),
                                max_len=self.max_len)
            for item, hyps in zip(chunk, beams):
                results.append(_prediction(Prediction, item, hyps, self.vocab))
        return results

    @torch.no_grad()
    def teacher_forced(self, inputs: Sequence, targets: Sequence[str],
                       formulas: Sequence[str | None] | None = None) -> list:
        """Per sample (predicted ids, target ids) under teacher forcing, without <bos>."""
        out = []
        formulas = list(formulas) if formulas is not None else [None] * len(inputs)
        for start in range(0, len(inputs), BATCH):
            chunk = list(inputs[start : start + BATCH])
            images, desc = self.tensors(chunk, formulas[start : start + BATCH])
            ids = [self.vocab.encode(t, bos=True, eos=True) for t in targets[start : start + BATCH]]
            width = max(len(i) for i in ids)
            tgt = torch.tensor([i + [PAD_ID] * (width - len(i)) for i in ids], device=self.device)
            pred = self.model(images, desc, tgt[:, :-1]).argmax(-1).tolist()
            for row, gold in zip(pred, ids):
                n = len(gold) - 1
                out.append((row[:n], gold[1:]))
        return out


def _as_image(item) -> Image.Image:
    if isinstance(item, Image.Image):
        return item
    if isinstance(item, (str, Path)):
        return render.load_image(item)
    raise ValueError(f"expected an image or an image path, got {type(item).__name__}")


def _prediction(cls, item, hyps: list, vocab: Vocab):
    decoded = [(vocab.decode(h.tokens), float(h.confidence)) for h in hyps] or [("", 0.0)]
    smiles, confidence = decoded[0]
    canonical = chem.canonical_smiles(smiles)
    name = str(item) if isinstance(item, (str, Path)) else "image"
    return cls(input=name, smiles=smiles, canonical_smiles=canonical, valid=canonical is not None,
               confidence=confidence, alternatives=decoded[1:])


# ----- command line -----


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``image`` subcommand to the predict CLI's subparsers."""
    parser = subparsers.add_parser("image", help="read a SMILES off a 2D drawing")
    parser.add_argument("image", nargs="?", help="a PNG or JPEG file")
    parser.add_argument("--file", help="text file with one image path per line (JSON lines out)")
    parser.add_argument("--formula", help="molecular formula of the drawn molecule, e.g. C8H10N4O2")
    parser.add_argument("--model", default=str(paths.IMAGE_MODEL))
    parser.add_argument("--beam", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--device", default="cpu")
    return parser


def run(args: argparse.Namespace, load) -> int:
    """Run the ``image`` subcommand; ``load`` is the shared load_predictor. Returns exit code."""
    if not args.image and not args.file:
        print("error: give an image path or --file paths.txt", file=sys.stderr)
        return 2
    predictor = load(args.model)
    if args.file:
        return _run_file(predictor, Path(args.file), args.beam)
    try:
        prediction = predictor.predict([args.image], beam=args.beam, formulas=[args.formula])[0]
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(_record(prediction)) if args.json else _text(prediction))
    return 0


def _run_file(predictor, listing: Path, beam: int) -> int:
    try:
        lines = listing.read_text().splitlines()
    except OSError as exc:
        print(f"error: cannot read {listing}: {exc.strerror}", file=sys.stderr)
        return 2
    jobs = [line.strip() for line in lines if line.strip()]
    for start in range(0, len(jobs), BATCH):
        for record in _predict_lines(predictor, jobs[start : start + BATCH], beam):
            print(json.dumps(record), flush=True)
    return 0


def _predict_lines(predictor, lines: list[str], beam: int) -> list[dict]:
    """Predict a batch of "path [formula]" lines; bad lines become error records, in place."""
    records: list[dict | None] = [None] * len(lines)
    good, images, formulas = [], [], []
    for i, line in enumerate(lines):
        path, _, formula = line.partition("\t") if "\t" in line else _split_formula(line)
        try:
            images.append(render.load_image(path.strip()))
            formula = formula.strip() or None
            formula_features(formula)  # validate now, so one bad formula fails one line
            formulas.append(formula)
            good.append(i)
        except ValueError as exc:
            records[i] = {"input": path.strip(), "status": "error", "error": str(exc)}
    predictions = predictor.predict(images, beam=beam, formulas=formulas) if images else []
    for i, prediction in zip(good, predictions):
        prediction.input = lines[i].split("\t")[0].strip()
        records[i] = _record(prediction)
    return records


def _split_formula(line: str) -> tuple[str, str, str]:
    """"path formula" when the last word looks like a formula and the whole line is no file."""
    head, _, tail = line.rpartition(" ")
    if head and not Path(line).exists():
        try:
            formula_features(tail)
            return head, " ", tail
        except ValueError:
            pass
    return line, "", ""


def _record(prediction) -> dict:
    return {
        "input": prediction.input,
        "status": "ok",
        "smiles": prediction.smiles,
        "canonical_smiles": prediction.canonical_smiles,
        "valid": prediction.valid,
        "confidence": round(prediction.confidence, 4),
        "alternatives": [[s, round(c, 4)] for s, c in prediction.alternatives],
    }


def _text(prediction) -> str:
    verdict = "valid" if prediction.valid else "invalid SMILES"
    return f"{prediction.canonical_smiles or prediction.smiles}  ({verdict}, confidence " \
           f"{prediction.confidence:.2f})"


def load_image_predictor(checkpoint: dict, device: str = "cpu") -> ImagePredictor:
    """Build the predictor from a loaded checkpoint dict (the hook predict.py dispatches to)."""
    return ImagePredictor(checkpoint, device)
