"""The image task: read SMILES off 2D drawings, optionally helped by the molecular formula.

Training drawings come from a pre-rendered file of chemnet.drawings (``--drawings``: a path, or
``auto``, the default, for the largest file of the model's pixel size in the data folder), else
they are rendered on the fly with random augmentation and kept in a per-process cache of
``variants`` drawings per molecule, so later epochs render nothing (see
bench/render_speed.py for the figures). The formula features are masked at random during
training so the model also works without them.
"""

from __future__ import annotations

import argparse
import logging
import random
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn.functional import cross_entropy, mse_loss
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import Dataset

from chemnet import paths
from chemnet.drawings import DrawingCache, draw_item, find_cache
from chemnet.nets.image_model import (
    COUNT_SIZE,
    build_image_model,
    formula_features,
    model_settings,
)
from chemnet.tasks import Task, register_task
from chemnet.tokenizer import PAD_ID, Vocab

logger = logging.getLogger(__name__)


class DrawingDataset(Dataset):
    """Molecules as (drawing, formula features, SMILES ids), with a cache of drawings.

    Items: uint8 tensor (S, S), float tensor (DESC_SIZE,) (zeros when masked), long tensor of
    target ids with <bos> and <eos>, float tensor (COUNT_SIZE,) of the true scaled atom counts
    (never masked: they are what a count head learns to read off the drawing).
    """

    def __init__(self, frame: pd.DataFrame, target: Vocab, image_size: int, variants: int,
                 augment: bool, desc_keep: float, seed: int = 0,
                 drawings: DrawingCache | None = None):
        self.smiles = frame["smiles"].tolist()
        self.formulas = frame["formula"].tolist()
        self.features = torch.tensor(
            [formula_features(f, m) for f, m in zip(frame["formula"], frame["mw"])],
            dtype=torch.float32,
        )
        self.tgt = [torch.tensor(target.encode(s, bos=True, eos=True)) for s in self.smiles]
        self.image_size, self.variants, self.augment = image_size, max(1, variants), augment
        self.desc_keep, self.seed = desc_keep, seed
        self.cache: dict[tuple[int, int], np.ndarray] = {}
        self.drawings = drawings if drawings is not None and drawings.size == image_size else None
        if drawings is not None and self.drawings is None:
            logger.warning("drawing cache of %d px ignored for %d px drawings", drawings.size,
                           image_size)
        if self.drawings is not None:
            self.variants = self.drawings.variants
        self.visits = [0] * len(self.smiles)
        self.rng = random.Random(seed)

    def __len__(self) -> int:
        return len(self.smiles)

    def drawing(self, index: int, variant: int) -> np.ndarray:
        if self.drawings is not None:
            stored = self.drawings.get(self.smiles[index], variant)
            if stored is not None:
                return stored
        key = (index, variant)
        if key not in self.cache:
            seed = self.seed * 1_000_003 + index * 101 + variant
            self.cache[key] = draw_item(self.smiles[index], self.image_size, seed, self.augment)
        return self.cache[key]

    def __getitem__(self, index: int):
        variant = self.visits[index] % self.variants
        self.visits[index] += 1
        image = torch.from_numpy(self.drawing(index, variant))
        if self.augment:
            keep = self.rng.random() < self.desc_keep
        else:  # validation: half the molecules with their formula, half without, fixed
            keep = index % 2 == 0
        desc = self.features[index] if keep else torch.zeros_like(self.features[index])
        return image, desc, self.tgt[index], self.features[index, :COUNT_SIZE]


def read_molecules(data_dir: Path) -> pd.DataFrame:
    path = Path(data_dir) / paths.MOLECULES_PARQUET.name
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing; build the data with `python -m chemnet.data build`")
    return pd.read_parquet(path, columns=["smiles", "formula", "mw", "heavy_atoms", "split"])


@register_task("image")
class ImageTask(Task):
    """2D drawing (+ optional formula) in, atom-level SMILES tokens out."""

    @classmethod
    def defaults(cls) -> dict:
        # The reference settings: Adam 1e-3, batch 8, 20 epochs, ReduceLROnPlateau(0.5, 3).
        return {
            "variant": "reference",
            "epochs": 20,
            "batch_size": 8,
            "lr": 0.001,
            "scheduler": "plateau",
            "gamma": 0.5,
            "patience": 3,
            "min_lr": 1e-6,
            "max_atoms": 50,
            "max_smiles_tokens": 100,
            "variants": 4,
            "desc_keep": 0.5,
            "val_exact": 128,
            "count_weight": 1.0,
            "model": {},
        }

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--max-atoms", type=int, default=None,
                            help="train only on molecules with at most this many heavy atoms")
        parser.add_argument("--variants", type=int, default=None,
                            help="cached augmented drawings per molecule")
        parser.add_argument("--desc-keep", type=float, default=None,
                            help="probability a training item keeps its formula features")
        parser.add_argument("--drawings", default=None, metavar="NPZ|auto|off",
                            help="pre-rendered training drawings (python -m chemnet.drawings); "
                                 "auto (default) takes the largest file of the model's size "
                                 "in the data folder, off renders every drawing on the fly")
        parser.add_argument("--val-exact", type=int, default=None,
                            help="validation drawings decoded greedily for val_exact")

    def load_data(self, vocab: dict | None = None) -> tuple[Dataset, Dataset]:
        cfg = self.config
        frame = read_molecules(cfg.get("data_dir") or paths.DATA_DIR)
        frame = frame[frame["heavy_atoms"] <= int(cfg["max_atoms"])]
        train = frame[frame["split"] == "train"]
        val = frame[frame["split"] == "val"]
        if cfg.get("limit"):
            train = train.sample(n=min(cfg["limit"], len(train)), random_state=cfg["seed"])
        if cfg.get("val_limit"):
            val = val.sample(n=min(cfg["val_limit"], len(val)), random_state=cfg["seed"])
        if len(train) == 0:
            raise ValueError(f"no training molecules with at most {cfg['max_atoms']} heavy atoms")
        self.target = (Vocab.build(train["smiles"], "smiles") if vocab is None
                       else Vocab.from_dict(vocab["target"]))
        train, val = self._drop_long(train), self._drop_long(val)
        self.counts = {"train_molecules": len(train), "val_molecules": len(val),
                       "max_atoms": int(cfg["max_atoms"])}
        logger.info("image task: %d train, %d val molecules (<= %d heavy atoms), %d tokens",
                    len(train), len(val), cfg["max_atoms"], len(self.target))
        size = self.model_config()["image_size"]
        drawings = self._drawing_cache(size)
        return (
            DrawingDataset(train, self.target, size, cfg["variants"], True, cfg["desc_keep"],
                           seed=cfg["seed"], drawings=drawings),
            DrawingDataset(val, self.target, size, 1, False, 0.0, seed=cfg["seed"]),
        )

    def _drawing_cache(self, size: int) -> DrawingCache | None:
        choice = self.config.get("drawings") or "auto"
        if choice == "off":
            return None
        if choice == "auto":
            found = find_cache(self.config.get("data_dir") or paths.DATA_DIR, size)
            if found is None:
                logger.info("no pre-rendered %d px drawings; rendering while training", size)
                return None
            # Record the file taken, so the run's config says where its drawings came from.
            self.config["drawings"] = choice = str(found)
        logger.info("training drawings from %s", choice)
        return DrawingCache.load(choice)

    def _drop_long(self, frame: pd.DataFrame) -> pd.DataFrame:
        lengths = frame["smiles"].map(lambda s: len(self.target.tokenize(s)))
        keep = lengths <= int(self.config["max_smiles_tokens"])
        if (~keep).any():
            logger.warning("dropped %d molecules over %d SMILES tokens", int((~keep).sum()),
                           self.config["max_smiles_tokens"])
        return frame[keep].reset_index(drop=True)

    def vocab_dict(self) -> dict:
        return {"source": None, "target": self.target.to_dict()}

    def model_config(self) -> dict:
        return model_settings(self.config["variant"], self.config.get("model"))

    def build_model(self) -> nn.Module:
        # Record the full sizes, so a checkpoint survives later changes of the variant defaults.
        self.config["model"] = self.model_config()
        return build_image_model(self.config["variant"], len(self.target), **self.config["model"])

    def collate(self, items: list) -> dict:
        images, desc, tgt, counts = zip(*items)
        return {
            "images": torch.stack(images).unsqueeze(1),  # (B, 1, S, S) uint8, scaled in loss
            "desc": torch.stack(desc),
            "tgt": pad_sequence(tgt, batch_first=True, padding_value=PAD_ID),
            "counts": torch.stack(counts),
        }

    def loss(self, model: nn.Module, batch: dict) -> tuple[torch.Tensor, dict]:
        tgt = batch["tgt"]
        images = batch["images"].float() / 255.0  # uint8 travels, float is made on the device
        counting = getattr(model, "module", model).atom_counts is not None  # DDP wraps
        if counting:
            logits, counts = model(images, batch["desc"], tgt[:, :-1], with_counts=True)
        else:
            logits = model(images, batch["desc"], tgt[:, :-1])  # (B, T, V)
        gold = tgt[:, 1:]
        loss = cross_entropy(logits.reshape(-1, logits.size(-1)), gold.reshape(-1),
                             ignore_index=PAD_ID)
        if counting:
            weight = float(self.config.get("count_weight", 1.0))
            loss = loss + weight * mse_loss(counts, batch["counts"].to(counts.device))
        mask = gold != PAD_ID
        correct = ((logits.argmax(-1) == gold) & mask).sum().item()
        return loss, {"tokens": int(mask.sum().item()), "correct": int(correct),
                      "samples": int(tgt.size(0))}

    def lengths(self, dataset: Dataset) -> list[int]:
        return [len(t) for t in dataset.tgt]

    def decode_batch(self, model: nn.Module, batch: dict, device: torch.device) -> list:
        from chemnet.decode import greedy_decode

        images = batch["images"].to(device).float() / 255.0
        return greedy_decode(model, images, batch["desc"].to(device),
                             max_len=int(self.config["max_smiles_tokens"]) + 2)


# The predictor and the CLI subcommand of this task register themselves on import.
import chemnet.image_predict  # noqa: E402,F401
