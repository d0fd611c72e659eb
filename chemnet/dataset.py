"""Build the compound store, the model dataset and its splits from the bundled tables.

The compound store keeps every compound a user may ask about. The model dataset is the subset
that suits sequence models: single-fragment organic molecules of moderate size, stereo removed
(the names in the tables carry no stereo descriptors), deduplicated by InChIKey, split 70/15/15
by molecule so that all names of one molecule fall in one split.
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from rdkit import Chem

from chemnet import chem, paths, store_writer
from chemnet.names import model_names
from chemnet.sources import RawCompound, read_all
from chemnet.tokenizer import smiles_tokens

logger = logging.getLogger(__name__)

MIN_HEAVY_ATOMS = 3
MAX_HEAVY_ATOMS = 40
MAX_SMILES_LENGTH = 100
# Boron, silicon and selenium compounds are few, and their PubChem names follow conventions
# (silanes, boranes) seen nowhere else in the tables; the models leave them to the store.
MODEL_ELEMENTS = frozenset({"C", "H", "N", "O", "S", "P", "F", "Cl", "Br", "I"})
SPLIT_FRACTIONS = {"train": 0.70, "val": 0.15, "test": 0.15}
SPLIT_SEED = 42
# A SMILES token used by fewer than this fraction of training molecules (56 of 37,055 in the
# full build) is too rare for a network to learn; molecules holding one leave the model dataset
# (about 0.6% of it) and stay in the store.
MIN_TOKEN_FRACTION = 0.0015
MANIFEST = "build.json"
OUTPUTS = ("molecules.parquet", "names.parquet", "chemnet.sqlite")

Progress = Callable[[float, str], None]


def analyse(smiles: str) -> dict | None:
    """RDKit's view of one compound: canonical form, descriptors and model eligibility."""
    mol = chem.parse_smiles(smiles)
    if mol is None:
        return None
    flat = Chem.Mol(mol)
    Chem.RemoveStereochemistry(flat)
    return {
        "canonical_smiles": Chem.MolToSmiles(mol),
        "flat_smiles": Chem.MolToSmiles(flat),
        "descriptors": chem.descriptors(mol),
        "model_smiles": _model_smiles(flat),
        "formula": chem.formula(flat),
        "mw": chem.mol_weight(flat),
    }


def _model_smiles(flat: Chem.Mol) -> str | None:
    """The (stereo-free) canonical SMILES if the molecule suits the models, else None."""
    if chem.fragment_count(flat) != 1 or not chem.elements(flat) <= MODEL_ELEMENTS:
        return None
    if "C" not in chem.elements(flat):
        return None
    if not MIN_HEAVY_ATOMS <= flat.GetNumHeavyAtoms() <= MAX_HEAVY_ATOMS:
        return None
    if any(atom.GetIsotope() for atom in flat.GetAtoms()):
        return None
    smiles = Chem.MolToSmiles(flat)
    return smiles if len(smiles) <= MAX_SMILES_LENGTH else None


def analyse_all(compounds: list[RawCompound], progress: Progress | None = None) -> list:
    """Run `analyse` over every compound on all cores, reporting progress as it goes."""
    smiles = [c.smiles for c in compounds]
    results: list = []
    workers = max(1, min(os.cpu_count() or 1, 4))
    with chem.quiet_rdkit(), multiprocessing.get_context("fork").Pool(workers) as pool:
        for result in pool.imap(analyse, smiles, chunksize=256):
            results.append(result)
            if progress and len(results) % 2000 == 0:
                progress(0.1 + 0.6 * len(results) / len(smiles), "computing descriptors")
    failed = sum(r is None for r in results)
    if failed:
        logger.warning("RDKit rejected %d of %d table SMILES", failed, len(smiles))
    return results


def model_molecules(compounds: list[RawCompound], analyses: list) -> pd.DataFrame:
    """One row per model-ready molecule, deduplicated by its stereo-free InChIKey."""
    rows, seen = [], set()
    for compound, info in zip(compounds, analyses):
        if info is None or info["model_smiles"] is None:
            continue
        smiles = info["model_smiles"]
        key = compound.inchikey
        if smiles != info["canonical_smiles"]:  # stereo was removed: the table key no longer fits
            key = chem.inchikey_from_smiles(smiles)
        if key is None or key in seen:
            continue
        seen.add(key)
        rows.append(
            {
                "cid": compound.cid,
                "name": compound.common_name.lower(),
                "iupac_name": compound.iupac_name.lower(),
                "smiles": smiles,
                "inchikey": key,
                "formula": info["formula"],
                "mw": info["mw"],
                **info["descriptors"],
                "table_inchikey": compound.inchikey,
                "synonym_list": compound.synonyms,
            }
        )
    return pd.DataFrame(rows)


def assign_splits(molecules: pd.DataFrame, seed: int = SPLIT_SEED) -> pd.Series:
    """Split molecules 70/15/15 with a fixed seed."""
    order = np.random.default_rng(seed).permutation(len(molecules))
    n_train = round(len(molecules) * SPLIT_FRACTIONS["train"])
    n_val = round(len(molecules) * SPLIT_FRACTIONS["val"])
    labels = np.empty(len(molecules), dtype=object)
    labels[order[:n_train]] = "train"
    labels[order[n_train : n_train + n_val]] = "val"
    labels[order[n_train + n_val :]] = "test"
    return pd.Series(labels, index=molecules.index)


def rare_tokens(molecules: pd.DataFrame, min_fraction: float = MIN_TOKEN_FRACTION) -> set[str]:
    """SMILES tokens used by fewer than min_fraction of the training molecules (or by none).

    Counted on the training split only, so the choice never looks at validation or test.
    """
    train = molecules.loc[molecules["split"] == "train", "smiles"]
    counts: Counter[str] = Counter()
    for smiles in train:
        counts.update(set(smiles_tokens(smiles)))
    needed = max(1, math.ceil(min_fraction * len(train)))
    seen = set().union(*(set(smiles_tokens(s)) for s in molecules["smiles"]))
    return {token for token in seen if counts[token] < needed}


def drop_rare_tokens(molecules: pd.DataFrame) -> pd.DataFrame:
    """Molecules without rare SMILES tokens; splits of the others are unchanged."""
    rare = rare_tokens(molecules)
    has_rare = molecules["smiles"].map(lambda s: not rare.isdisjoint(smiles_tokens(s)))
    if has_rare.any():
        logger.info("left %d molecules with rare SMILES tokens (%s) to the store",
                    int(has_rare.sum()), " ".join(sorted(rare)))
    return molecules[~has_rare].reset_index(drop=True)


def name_pairs(molecules: pd.DataFrame) -> pd.DataFrame:
    """(name, kind, inchikey, smiles, split) rows; a name that fits several molecules is dropped."""
    rows = []
    for mol in molecules.itertuples():
        for name, kind in model_names(mol.iupac_name, mol.name, mol.synonym_list):
            rows.append((name, kind, mol.inchikey, mol.smiles, mol.split))
    names = pd.DataFrame(rows, columns=["name", "kind", "inchikey", "smiles", "split"])
    ambiguous = names.groupby("name")["inchikey"].transform("nunique") > 1
    if ambiguous.any():
        logger.info("dropped %d name pairs whose name fits several molecules", ambiguous.sum())
    return names[~ambiguous].reset_index(drop=True)


def is_built(data_dir: Path) -> bool:
    """A build is complete when its manifest and every output exist."""
    return (data_dir / MANIFEST).exists() and all((data_dir / f).exists() for f in OUTPUTS)


def build(
    data_dir: Path | None = None,
    force: bool = False,
    limit: int | None = None,
    progress: Progress | None = None,
) -> dict:
    """Build data/ from the bundled tables and return the counts.

    Does nothing when a complete build exists, unless `force`. Every file is written under a
    temporary name and renamed, and the manifest is written last, so an interrupted build never
    looks complete.
    """
    data_dir = Path(data_dir or paths.DATA_DIR)
    if is_built(data_dir) and not force:
        logger.info("data already built in %s (use --force to rebuild)", data_dir)
        return json.loads((data_dir / MANIFEST).read_text())["counts"]
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / MANIFEST).unlink(missing_ok=True)
    report = progress or (lambda fraction, message: None)
    started = time.perf_counter()

    report(0.0, "reading identifier tables")
    compounds = read_all(limit)
    report(0.1, f"analysing {len(compounds):,} compounds with RDKit")
    analyses = analyse_all(compounds, report)

    logger.info("RDKit analysis done after %.1f s", time.perf_counter() - started)
    report(0.7, "selecting model molecules and names")
    molecules = model_molecules(compounds, analyses)
    molecules["split"] = assign_splits(molecules)
    molecules = drop_rare_tokens(molecules)
    names = name_pairs(molecules)
    splits_by_key = dict(zip(molecules["inchikey"], molecules["split"]))
    molecules = molecules.drop(columns=["synonym_list"])

    logger.info("molecules and names selected after %.1f s", time.perf_counter() - started)
    report(0.8, "writing the compound store")
    _write_parquet(molecules.drop(columns=["table_inchikey"]), data_dir / "molecules.parquet")
    _write_parquet(names, data_dir / "names.parquet")
    model_keys = dict(zip(molecules["table_inchikey"], molecules["inchikey"]))
    store_writer.write_store(
        compounds, analyses, model_keys, splits_by_key, data_dir / "chemnet.sqlite"
    )

    counts = _counts(compounds, molecules, names)
    seconds = round(time.perf_counter() - started, 1)
    manifest = {"counts": counts, "limit": limit, "seconds": seconds, "built": time.time()}
    _write_text(json.dumps(manifest, indent=2), data_dir / MANIFEST)
    report(1.0, "done")
    logger.info("built %s in %.1f s: %s", data_dir, seconds, counts)
    return counts


def _counts(compounds: list, molecules: pd.DataFrame, names: pd.DataFrame) -> dict:
    split_counts = molecules["split"].value_counts()
    return {
        "compounds": len(compounds),
        "molecules": len(molecules),
        "pairs": len(names),
        **{split: int(split_counts.get(split, 0)) for split in SPLIT_FRACTIONS},
        **{f"pairs_{kind}": int(n) for kind, n in names["kind"].value_counts().items()},
    }


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    temporary = path.with_name(path.name + ".tmp")
    frame.to_parquet(temporary, index=False)
    os.replace(temporary, path)


def _write_text(text: str, path: Path) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def load_molecules(data_dir: Path | None = None) -> pd.DataFrame:
    return pd.read_parquet(Path(data_dir or paths.DATA_DIR) / "molecules.parquet")


def load_names(data_dir: Path | None = None) -> pd.DataFrame:
    return pd.read_parquet(Path(data_dir or paths.DATA_DIR) / "names.parquet")
