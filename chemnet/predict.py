"""Predict SMILES with a trained checkpoint; `python -m chemnet.predict name "caffeine"`.

``load_predictor`` reads the task from the checkpoint config and builds the predictor class
registered for it. The name predictor lives here; another task (the image model) registers
its own class with ``@register_predictor("image")`` in ``chemnet/tasks/<task>.py`` and its CLI
subcommand with ``register_subcommand``; both modules are imported on demand.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch.nn.utils.rnn import pad_sequence

from chemnet import chem, paths
from chemnet.checkpoint import CheckpointError, load_checkpoint
from chemnet.decode import beam_search
from chemnet.nets.name_model import build_name_model, model_settings
from chemnet.tokenizer import PAD_ID, UNK_ID, Vocab, normalize_name

logger = logging.getLogger(__name__)

BATCH_SIZE = 64
PREDICTORS: dict[str, type] = {}
SUBCOMMANDS: dict[str, Callable] = {}


@dataclass
class Prediction:
    """One model answer: raw decoded SMILES, its canonical form (None if RDKit rejects it)."""

    input: str
    smiles: str
    canonical_smiles: str | None
    valid: bool
    confidence: float
    alternatives: list[tuple[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["input"] = str(self.input)
        out["alternatives"] = [[s, round(c, 4)] for s, c in self.alternatives]
        out["confidence"] = round(self.confidence, 4)
        return out


def register_predictor(task: str):
    """Class decorator: ``load_predictor`` builds this class for checkpoints of ``task``."""

    def wrap(cls):
        cls.task = task
        PREDICTORS[task] = cls
        return cls

    return wrap


def register_subcommand(name: str, adder: Callable) -> None:
    """``adder(subparsers)`` adds a CLI subcommand whose ``func(args) -> int`` runs it."""
    SUBCOMMANDS[name] = adder


def _import_task(task: str) -> None:
    try:
        importlib.import_module(f"chemnet.tasks.{task}")
    except ModuleNotFoundError as exc:
        if exc.name != f"chemnet.tasks.{task}":
            raise


def load_predictor(path: str | Path, device: str = "cpu"):
    """Load a checkpoint and build the predictor of its task.

    Raises:
        CheckpointError: missing or corrupt file, or a task no predictor is registered for.
    """
    ckpt = load_checkpoint(path, map_location=device)
    task = ckpt["config"]["task"]
    if task not in PREDICTORS:
        _import_task(task)
    if task not in PREDICTORS:
        raise CheckpointError(f"no predictor for task {task!r} of checkpoint {path}")
    try:
        return PREDICTORS[task](ckpt, device=device)
    except (KeyError, RuntimeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {path} does not fit its model: {exc}") from exc


def make_prediction(text: str, beams: list, vocab: Vocab) -> Prediction:
    """Choose the most confident beam that RDKit accepts (else the top one); others follow."""
    decoded = [(vocab.decode(b.tokens), b.confidence) for b in beams]
    if not decoded:
        return Prediction(text, "", None, False, 0.0)
    canon = [chem.canonical_smiles(s) for s, _ in decoded]
    pick = next((i for i, c in enumerate(canon) if c is not None), 0)
    smiles, confidence = decoded[pick]
    others = [d for i, d in enumerate(decoded) if i != pick]
    return Prediction(text, smiles, canon[pick], canon[pick] is not None, confidence, others)


@register_predictor("name")
class NamePredictor:
    """Names in, SMILES out, from a checkpoint of the name task. Safe to share across threads."""

    def __init__(self, ckpt: dict, device: str = "cpu"):
        self.config = ckpt["config"]
        self.device = torch.device(device)
        self.source = Vocab.from_dict(ckpt["vocab"]["source"])
        self.target = Vocab.from_dict(ckpt["vocab"]["target"])
        sizes = model_settings(self.config["variant"], self.config.get("model"))
        self.model = build_name_model(self.config["variant"], len(self.source), len(self.target),
                                      **sizes)
        self.model.load_state_dict(ckpt["model_state_dict"])
        self.model.to(self.device).eval()
        self.max_len = int(self.config.get("max_smiles_tokens", 100)) + 2
        self.max_name = int(self.config.get("max_name_length", 150))
        self._lock = threading.Lock()  # one forward at a time; torch ops share the thread pool

    @property
    def target_vocab(self) -> dict[int, str]:
        return dict(enumerate(self.target.itos))

    def _encode(self, names: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        # Empty names still get one <unk> so the encoder has something to read.
        ids = [self.source.encode(normalize_name(n)[: self.max_name]) or [UNK_ID]
               for n in names]
        src = pad_sequence([torch.tensor(i) for i in ids], batch_first=True, padding_value=PAD_ID)
        return src.to(self.device), torch.tensor([len(i) for i in ids])

    def predict(self, inputs: list, beam: int = 1) -> list[Prediction]:
        """Predict a SMILES per name, in input order; beam > 1 also fills alternatives."""
        names = [str(n) for n in inputs]
        order = sorted(range(len(names)), key=lambda i: len(names[i]))  # less padding
        results: list[Prediction | None] = [None] * len(names)
        for start in range(0, len(order), BATCH_SIZE):
            chunk = order[start : start + BATCH_SIZE]
            src, src_len = self._encode([names[i] for i in chunk])
            with self._lock, torch.inference_mode():
                beams = beam_search(self.model, src, src_len, beam=max(1, beam),
                                    max_len=self.max_len)
            for i, found in zip(chunk, beams):
                results[i] = make_prediction(names[i], found, self.target)
        return results  # type: ignore[return-value]

    def teacher_forced(self, inputs: list, targets: list[str]) -> list[tuple[list[int], list[int]]]:
        """Per sample, (predicted ids, target ids) over the target tokens and <eos>."""
        out = []
        for start in range(0, len(inputs), BATCH_SIZE):
            names = [str(n) for n in inputs[start : start + BATCH_SIZE]]
            gold = [self.target.encode(t, bos=True, eos=True)
                    for t in targets[start : start + BATCH_SIZE]]
            src, src_len = self._encode(names)
            tgt = pad_sequence([torch.tensor(g) for g in gold], batch_first=True,
                               padding_value=PAD_ID).to(self.device)
            with self._lock, torch.inference_mode():
                pred = self.model(src, src_len, tgt[:, :-1]).argmax(-1).tolist()  # (B, T)
            for p, g in zip(pred, gold):
                n = len(g) - 1  # tokens after <bos>, <eos> included
                out.append((p[:n], g[1:]))
        return out


# ----- command line -----


def _print(predictions: list[Prediction], as_json: bool) -> None:
    for p in predictions:
        if as_json:
            print(json.dumps(p.to_dict()))
        else:
            state = "valid" if p.valid else "invalid"
            print(f"{p.input}\t{p.canonical_smiles or p.smiles}\t{state}\t"
                  f"confidence {p.confidence:.3f}")


def _read_lines(path: str) -> list[str]:
    text = Path(path).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def run_name(args: argparse.Namespace) -> int:
    if not args.names and not args.file:
        print("error: give a name or --file names.txt", file=sys.stderr)
        return 2
    names = _read_lines(args.file) if args.file else list(args.names)
    predictor = load_predictor(args.model or paths.NAME_MODEL, device=args.device)
    for start in range(0, len(names), 256):
        _print(predictor.predict(names[start : start + 256], beam=args.beam), args.json)
    return 0


def _add_name_command(subparsers) -> None:
    cmd = subparsers.add_parser("name", help="molecule name(s) -> SMILES")
    cmd.add_argument("names", nargs="*", help="one or more names (quote names with spaces)")
    cmd.add_argument("--file", help="a text file with one name per line")
    cmd.add_argument("--beam", type=int, default=1, help="beam width (1: greedy)")
    cmd.add_argument("--json", action="store_true", help="one JSON object per line")
    cmd.add_argument("--model", default=None, help=f"checkpoint (default {paths.NAME_MODEL})")
    cmd.add_argument("--device", default="cpu")
    cmd.set_defaults(func=run_name)


register_subcommand("name", _add_name_command)


def build_parser() -> argparse.ArgumentParser:
    _import_task("image")  # the image task registers its own subcommand when present
    parser = argparse.ArgumentParser(prog="python -m chemnet.predict", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for adder in SUBCOMMANDS.values():
        adder(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CheckpointError, FileNotFoundError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    # Run the importable module's main: under `python -m` this file is a second module,
    # "__main__", and tasks (the image task) register into chemnet.predict, not into it.
    from chemnet.predict import main as registered_main

    sys.exit(registered_main())
