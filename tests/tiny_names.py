"""A tiny names.parquet of systematic names (alkanes, alcohols, acids, amines) for fast tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from chemnet import chem

STEMS = ("meth", "eth", "prop", "but", "pent", "hex", "hept", "oct", "non", "dec")


def tiny_pairs() -> pd.DataFrame:
    rows = []
    for n, stem in enumerate(STEMS, start=1):
        chain = "C" * n
        rows += [
            (f"{stem}ane", chain),
            (f"{stem}an-1-ol", chain + "O"),
            (f"{stem}an-1-amine", chain + "N"),
            (f"{stem}anoic acid", "C" * (n - 1) + "C(=O)O"),
        ]
    frame = pd.DataFrame(rows, columns=["name", "smiles"])
    frame["smiles"] = frame["smiles"].map(chem.canonical_smiles)
    frame["inchikey"] = frame["smiles"].map(chem.inchikey_from_smiles)
    frame["kind"] = ["iupac" if i % 4 else "common" for i in range(len(frame))]
    frame["split"] = ["val" if i % 7 == 3 else "test" if i % 7 == 5 else "train"
                      for i in range(len(frame))]
    return frame


def write_tiny_data(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    tiny_pairs().to_parquet(folder / "names.parquet", index=False)
    return folder
