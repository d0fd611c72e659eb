"""Training tasks: what the task-agnostic trainer needs to know about one kind of model.

Adding a task (the image model, say) means writing ``chemnet/tasks/<name>.py`` with a subclass
of :class:`Task` decorated by ``@register_task("<name>")``; ``get_task`` imports that module on
first use, so nothing else has to change and ``python -m chemnet.train --task <name>`` works.
A task may also register a predictor class with ``chemnet.predict.register_predictor``.
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod

import torch
from torch import nn
from torch.utils.data import Dataset

TASKS: dict[str, type[Task]] = {}


def register_task(name: str):
    """Class decorator that makes a Task subclass available to the trainer under ``name``."""

    def wrap(cls: type[Task]) -> type[Task]:
        cls.name = name
        TASKS[name] = cls
        return cls

    return wrap


def get_task(name: str) -> type[Task]:
    """The Task class registered as ``name``, importing ``chemnet.tasks.<name>`` if needed."""
    if name not in TASKS:
        try:
            importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    if name not in TASKS:
        known = sorted(m.name for m in pkgutil.iter_modules(__path__))
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(known)}")
    return TASKS[name]


class Task(ABC):
    """One learning problem: its data, vocabulary, model and loss.

    The trainer calls, in order: ``defaults()`` (class-level settings merged under the command
    line flags), ``__init__(config)``, ``load_data(vocab)`` (``vocab`` is the checkpoint's on
    resume, else None so the task builds it from training data), ``build_model()``, then per
    batch ``collate`` (through the DataLoader) and ``loss``.
    """

    name = "task"

    def __init__(self, config: dict):
        self.config = config

    @classmethod
    def add_arguments(cls, parser) -> None:
        """Add task-specific command-line flags (their dest names become config keys)."""

    @classmethod
    def defaults(cls) -> dict:
        """Task-specific config defaults (variant, model sizes, length limits...)."""
        return {}

    @classmethod
    def architecture_keys(cls) -> tuple[str, ...]:
        """Config keys that shape the network; --init-from copies them from the checkpoint."""
        return ("variant", "model")

    @abstractmethod
    def load_data(self, vocab: dict | None = None) -> tuple[Dataset, Dataset]:
        """Return (train, val) datasets; afterwards ``self.vocab_dict()`` must work."""

    @abstractmethod
    def vocab_dict(self) -> dict:
        """The vocabularies as a plain dict (saved in every checkpoint)."""

    @abstractmethod
    def build_model(self) -> nn.Module:
        """A fresh model for the current config and vocabulary."""

    @abstractmethod
    def collate(self, items: list) -> dict:
        """Turn dataset items into a batch dict of tensors."""

    @abstractmethod
    def loss(self, model: nn.Module, batch: dict) -> tuple[torch.Tensor, dict]:
        """Mean loss of a batch and counts: {"tokens": n, "correct": n, "samples": n}."""

    def lengths(self, dataset: Dataset) -> list[int] | None:
        """Per-item sizes for length bucketing, or None to batch in random order."""
        return None

    # Items per greedy-decoding batch in validate_extra.
    exact_batch = 64

    def decode_batch(self, model: nn.Module, batch: dict, device: torch.device) -> list | None:
        """Greedy-decode one collated batch; None when the task has no exact-match figure."""
        return None

    def validate_extra(self, model: nn.Module, dataset: Dataset, device: torch.device) -> dict:
        """Greedy exact match (canonical SMILES) on the first ``val_exact`` validation items."""
        from chemnet import chem

        n = min(int(self.config.get("val_exact") or 0), len(dataset))
        if n == 0:
            return {}
        hits = 0
        for start in range(0, n, self.exact_batch):
            batch = self.collate(
                [dataset[i] for i in range(start, min(n, start + self.exact_batch))]
            )
            seqs = self.decode_batch(model, batch, device)
            if seqs is None:
                return {}
            for i, seq in enumerate(seqs):
                pred = chem.canonical_smiles(self.target.decode(seq.tokens))
                hits += pred is not None and pred == chem.canonical_smiles(
                    dataset.smiles[start + i]
                )
        return {"val_exact": hits / n}

    def data_counts(self) -> dict:
        """Counts for the config and model card (pairs per split, skipped items)."""
        return dict(getattr(self, "counts", {}))
