"""The name task: learn SMILES from molecule names (IUPAC, common names, synonyms)."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import torch
from torch import nn
from torch.nn.functional import cross_entropy
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import Dataset

from chemnet import paths
from chemnet.nets.name_model import build_name_model, model_settings
from chemnet.tasks import Task, register_task
from chemnet.tokenizer import PAD_ID, Vocab, normalize_name

logger = logging.getLogger(__name__)

KINDS = ("iupac", "common", "synonym")


class PairDataset(Dataset):
    """Encoded (name ids, SMILES ids) pairs with their kind, kept as small int tensors."""

    def __init__(self, frame: pd.DataFrame, source: Vocab, target: Vocab):
        self.names = frame["name"].tolist()
        self.smiles = frame["smiles"].tolist()
        self.kinds = frame["kind"].tolist()
        self.src = [torch.tensor(source.encode(n), dtype=torch.long) for n in self.names]
        self.tgt = [
            torch.tensor(target.encode(s, bos=True, eos=True), dtype=torch.long)
            for s in self.smiles
        ]

    def __len__(self) -> int:
        return len(self.src)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.src[index], self.tgt[index]


def read_pairs(data_dir: Path, kinds: list[str]) -> pd.DataFrame:
    """The (name, kind, smiles, split) rows of names.parquet for the chosen name kinds."""
    path = Path(data_dir) / paths.NAMES_PARQUET.name
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing; build the data with `python -m chemnet.data build`"
        )
    frame = pd.read_parquet(path, columns=["name", "kind", "smiles", "split"])
    frame = frame[frame["kind"].isin(kinds)].copy()
    frame["name"] = frame["name"].map(normalize_name)
    return frame.drop_duplicates(["name", "smiles"]).reset_index(drop=True)


def drop_long(frame: pd.DataFrame, max_name: int, max_smiles: int, target: Vocab) -> pd.DataFrame:
    """Drop pairs whose name or SMILES exceeds the limits; long tails waste padded compute."""
    name_len = frame["name"].str.len()
    smiles_len = frame["smiles"].map(lambda s: len(target.tokenize(s)))
    keep = (name_len <= max_name) & (smiles_len <= max_smiles) & (name_len > 0)
    if (~keep).any():
        logger.warning(
            "dropped %d of %d pairs over the length limits (name %d, SMILES %d)",
            int((~keep).sum()),
            len(frame),
            max_name,
            max_smiles,
        )
    return frame[keep].reset_index(drop=True)


@register_task("name")
class NameTask(Task):
    """Sequence to sequence: name characters in, atom-level SMILES tokens out."""

    def __init__(self, config: dict):
        super().__init__(config)
        model_settings(config["variant"])  # an unknown variant fails here, before any work
        unknown = set(config["kinds"]) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown name kinds {sorted(unknown)}; choose from {list(KINDS)}")

    @classmethod
    def add_arguments(cls, parser) -> None:
        parser.add_argument(
            "--kinds",
            type=lambda text: text.split(","),
            default=None,
            help="name kinds to train on, comma-separated (iupac,common,synonym)",
        )
        parser.add_argument("--label-smoothing", type=float, default=None)
        parser.add_argument(
            "--val-exact",
            type=int,
            default=None,
            help="validation pairs decoded each epoch for val_exact (0: off)",
        )
        parser.add_argument("--max-name-length", type=int, default=None)
        parser.add_argument("--max-smiles-tokens", type=int, default=None)

    @classmethod
    def defaults(cls) -> dict:
        return {
            "variant": "reference",
            "kinds": list(KINDS),
            "max_name_length": 150,
            "max_smiles_tokens": 100,
            "label_smoothing": 0.0,
            "val_exact": 256,
            "model": {},
        }

    def load_data(self, vocab: dict | None = None) -> tuple[Dataset, Dataset]:
        cfg = self.config
        frame = read_pairs(cfg.get("data_dir") or paths.DATA_DIR, list(cfg["kinds"]))
        train = frame[frame["split"] == "train"]
        val = frame[frame["split"] == "val"]
        if cfg.get("limit"):
            train = train.sample(n=min(cfg["limit"], len(train)), random_state=cfg["seed"])
        if cfg.get("val_limit"):
            val = val.sample(n=min(cfg["val_limit"], len(val)), random_state=cfg["seed"])
        if len(train) == 0:
            raise ValueError(f"no training pairs of kinds {cfg['kinds']} in the data")
        if vocab is None:
            self.source = Vocab.build(train["name"], "chars")
            self.target = Vocab.build(train["smiles"], "smiles")
        else:
            self.source = Vocab.from_dict(vocab["source"])
            self.target = Vocab.from_dict(vocab["target"])
        limits = (cfg["max_name_length"], cfg["max_smiles_tokens"], self.target)
        train, val = drop_long(train, *limits), drop_long(val, *limits)
        self.counts = {
            "train_pairs": len(train),
            "val_pairs": len(val),
            "train_by_kind": train["kind"].value_counts().to_dict(),
        }
        logger.info(
            "name task: %d train pairs, %d val pairs, vocab %d chars -> %d tokens",
            len(train),
            len(val),
            len(self.source),
            len(self.target),
        )
        return PairDataset(train, self.source, self.target), PairDataset(
            val, self.source, self.target
        )

    def vocab_dict(self) -> dict:
        return {"source": self.source.to_dict(), "target": self.target.to_dict()}

    def model_config(self) -> dict:
        return model_settings(self.config["variant"], self.config.get("model"))

    def build_model(self) -> nn.Module:
        return build_name_model(
            self.config["variant"], len(self.source), len(self.target), **self.model_config()
        )

    def collate(self, items: list) -> dict:
        src, tgt = zip(*items)
        return {
            "src": pad_sequence(src, batch_first=True, padding_value=PAD_ID),
            "src_len": torch.tensor([len(s) for s in src]),
            "tgt": pad_sequence(tgt, batch_first=True, padding_value=PAD_ID),
        }

    def loss(self, model: nn.Module, batch: dict) -> tuple[torch.Tensor, dict]:
        tgt = batch["tgt"]
        logits = model(batch["src"], batch["src_len"], tgt[:, :-1])  # (B, T, V)
        gold = tgt[:, 1:]
        loss = cross_entropy(
            logits.reshape(-1, logits.size(-1)),
            gold.reshape(-1),
            ignore_index=PAD_ID,
            label_smoothing=float(self.config.get("label_smoothing", 0.0)),
        )
        mask = gold != PAD_ID
        correct = ((logits.argmax(-1) == gold) & mask).sum().item()
        return loss, {
            "tokens": int(mask.sum().item()),
            "correct": int(correct),
            "samples": int(tgt.size(0)),
        }

    def lengths(self, dataset: Dataset) -> list[int]:
        return [len(s) + len(t) for s, t in zip(dataset.src, dataset.tgt)]

    exact_batch = 128

    def decode_batch(self, model: nn.Module, batch: dict, device: torch.device) -> list:
        from chemnet.decode import greedy_decode

        return greedy_decode(
            model,
            batch["src"].to(device),
            batch["src_len"].to(device),
            max_len=self.config["max_smiles_tokens"] + 2,
        )
