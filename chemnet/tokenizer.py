"""Vocabularies for the sequence models: characters of names, atom-level tokens of SMILES."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)
PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3

# Bracket atoms, two-letter halogens, aromatic atoms, bonds, branches, ring closures (%nn first,
# then single digits); the final "." alternative catches any other character so that joining
# the tokens always gives back the input.
SMILES_PATTERN = re.compile(
    r"(\[[^\]]+\]|Br|Cl|%\d{2}|[BCNOPSFI]|[bcnops]|[()=#\-+\\/:~@?>*$.]|\d|.)"
)


def smiles_tokens(smiles: str) -> list[str]:
    """Split a SMILES string into atom-level tokens; ``"".join`` of the result is the input."""
    return SMILES_PATTERN.findall(smiles)


def name_tokens(name: str) -> list[str]:
    """Characters of a name, lowercased, since the PubChem names we learn from are lowercase."""
    return list(normalize_name(name))


def normalize_name(name: str) -> str:
    """Lowercase and collapse whitespace, so user input matches the training names."""
    return " ".join(name.lower().split())


TOKENIZERS = {"chars": name_tokens, "smiles": smiles_tokens}


class Vocab:
    """A token <-> id map with the four special tokens first, stored as a plain dict."""

    def __init__(self, tokens: Sequence[str], kind: str):
        if kind not in TOKENIZERS:
            raise ValueError(
                f"unknown vocabulary kind {kind!r}; expected one of {list(TOKENIZERS)}"
            )
        self.kind = kind
        self.itos = list(SPECIALS) + [t for t in tokens if t not in SPECIALS]
        self.stoi = {t: i for i, t in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    @classmethod
    def build(cls, texts: Iterable[str], kind: str, min_count: int = 1) -> Vocab:
        """Collect every token seen at least ``min_count`` times, most frequent first."""
        counts = Counter(tok for text in texts for tok in TOKENIZERS[kind](text))
        tokens = sorted(
            (t for t, n in counts.items() if n >= min_count), key=lambda t: (-counts[t], t)
        )
        return cls(tokens, kind)

    def tokenize(self, text: str) -> list[str]:
        return TOKENIZERS[self.kind](text)

    def encode(self, text: str, bos: bool = False, eos: bool = False) -> list[int]:
        """Token ids of ``text``; unknown tokens map to ``<unk>``."""
        ids = [self.stoi.get(t, UNK_ID) for t in self.tokenize(text)]
        return ([BOS_ID] if bos else []) + ids + ([EOS_ID] if eos else [])

    def decode(self, ids: Iterable[int]) -> str:
        """Join tokens up to the first ``<eos>``, skipping padding and ``<bos>``."""
        out = []
        for i in ids:
            i = int(i)
            if i == EOS_ID:
                break
            if i in (PAD_ID, BOS_ID):
                continue
            out.append(self.itos[i] if 0 <= i < len(self.itos) else UNK)
        return "".join(out)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "tokens": list(self.itos)}

    @classmethod
    def from_dict(cls, data: dict) -> Vocab:
        tokens = list(data["tokens"])
        if tuple(tokens[: len(SPECIALS)]) != SPECIALS:
            raise ValueError("vocabulary does not start with the special tokens")
        return cls(tokens[len(SPECIALS) :], data["kind"])
