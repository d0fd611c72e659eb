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
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from chemnet import paths, render
from chemnet.decode import beam_search
from chemnet.nets.image_model import DESC_SIZE, build_image_model, formula_features, model_settings
from chemnet.predict import Prediction, load_predictor, make_prediction, register_predictor
from chemnet.predict import register_subcommand
from chemnet.tokenizer import PAD_ID, Vocab

logger = logging.getLogger(__name__)

BATCH = 32


@register_predictor("image")
class ImagePredictor:
    """Reads SMILES off drawings with a trained image model. Safe to share across threads."""

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
        self._lock = threading.Lock()  # one forward at a time; torch ops share the thread pool

    @property
    def target_vocab(self) -> dict[int, str]:
        return dict(enumerate(self.vocab.itos))

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

    def predict(self, inputs: Sequence, beam: int = 1,
                formulas: Sequence[str | None] | None = None) -> list[Prediction]:
        """One Prediction per image (PIL image or path), in order; formulas are optional.

        Raises:
            ValueError: an input is not a readable image or a formula is malformed.
        """
        results = []
        formulas = list(formulas) if formulas is not None else [None] * len(inputs)
        for start in range(0, len(inputs), BATCH):
            chunk = list(inputs[start : start + BATCH])
            images, desc = self.tensors(chunk, formulas[start : start + BATCH])
            with self._lock, torch.inference_mode():
                beams = beam_search(self.model, images, desc, beam=max(1, int(beam)),
                                    max_len=self.max_len)
            for item, hyps in zip(chunk, beams):
                label = str(item) if isinstance(item, (str, Path)) else "image"
                results.append(make_prediction(label, hyps, self.vocab))
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
            with self._lock:
                pred = self.model(images, desc, tgt[:, :-1]).argmax(-1).tolist()  # (B, T)
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


# ----- command line -----


def _add_image_command(subparsers) -> None:
    """The ``image`` subcommand of ``python -m chemnet.predict``."""
    parser = subparsers.add_parser("image", help="read a SMILES off a 2D drawing")
    parser.add_argument("image", nargs="?", help="a PNG or JPEG file")
    parser.add_argument("--file", help="text file with one image path per line (JSON lines out)")
    parser.add_argument("--formula", help="molecular formula of the drawn molecule, e.g. C8H10N4O2")
    parser.add_argument("--model", default=str(paths.IMAGE_MODEL))
    parser.add_argument("--beam", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.set_defaults(func=run_image)


def run_image(args: argparse.Namespace) -> int:
    """Run the ``image`` subcommand; returns the exit code (2 for bad input)."""
    if not args.image and not args.file:
        print("error: give an image path or --file paths.txt", file=sys.stderr)
        return 2
    predictor = load_predictor(args.model, device=args.device)
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
        path, formula = path.strip(), formula.strip() or None
        try:
            formula_features(formula)  # checked first, so one bad formula fails one line
            images.append(render.load_image(path))
        except ValueError as exc:
            records[i] = {"input": path, "status": "error", "error": str(exc)}
            continue
        good.append((i, path))
        formulas.append(formula)
    predictions = predictor.predict(images, beam=beam, formulas=formulas) if images else []
    for (i, path), prediction in zip(good, predictions):
        prediction.input = path
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


def _record(prediction: Prediction) -> dict:
    return {**prediction.to_dict(), "status": "ok"}


def _text(prediction) -> str:
    verdict = "valid" if prediction.valid else "invalid SMILES"
    return f"{prediction.canonical_smiles or prediction.smiles}  ({verdict}, confidence " \
           f"{prediction.confidence:.2f})"


register_subcommand("image", _add_image_command)
