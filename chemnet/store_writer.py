"""Write the compound store: one SQLite file with the compounds and their name index."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from chemnet.names import is_cas, lookup_key

# Synonyms come from tab-separated tables, so a tab never occurs in one; splitting on it is
# several times faster than parsing JSON when a lookup returns a compound.
SYNONYM_SEPARATOR = "\t"

SCHEMA = """
CREATE TABLE compounds (
    id INTEGER PRIMARY KEY, cid INTEGER, cas TEXT, name TEXT, iupac_name TEXT, formula TEXT,
    mw REAL, smiles TEXT, canonical_smiles TEXT, flat_smiles TEXT, inchi TEXT, inchikey TEXT,
    model_inchikey TEXT, synonyms TEXT, descriptors TEXT, split TEXT
);
CREATE TABLE names (key TEXT, compound_id INTEGER, rank INTEGER);
"""
# Indexes are created after the bulk insert, which is several times faster than keeping them
# up to date row by row.
INDEXES = """
CREATE INDEX names_key ON names (key);
CREATE INDEX compounds_cid ON compounds (cid);
CREATE INDEX compounds_cas ON compounds (cas);
CREATE INDEX compounds_inchikey ON compounds (inchikey);
CREATE INDEX compounds_canonical ON compounds (canonical_smiles);
CREATE INDEX compounds_flat ON compounds (flat_smiles);
CREATE INDEX compounds_model_key ON compounds (model_inchikey);
"""


def write_store(compounds, analyses, model_keys: dict, splits: dict, path: Path) -> None:
    """Write the SQLite store for `compounds` (RawCompound) and their RDKit `analyses`.

    `model_keys` maps a table InChIKey to the model dataset's (stereo-free) key and `splits` maps
    that key to its split, so the store knows which compounds the models were trained on.
    """
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    connection = sqlite3.connect(temporary)
    try:
        connection.executescript(SCHEMA)
        connection.executemany(
            "INSERT INTO compounds VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                _compound_row(i, c, a, model_keys, splits)
                for i, (c, a) in enumerate(zip(compounds, analyses))
            ),
        )
        connection.executemany(
            "INSERT INTO names VALUES (?,?,?)",
            (row for i, c in enumerate(compounds) for row in _name_rows(i, c)),
        )
        connection.executescript(INDEXES)
        connection.commit()
    finally:
        connection.close()
    os.replace(temporary, path)


def _compound_row(index, compound, analysis, model_keys, splits) -> tuple:
    model_key = model_keys.get(compound.inchikey)
    analysis = analysis or {}
    return (
        index,
        compound.cid,
        compound.cas,
        compound.common_name,
        compound.iupac_name,
        compound.formula,
        compound.mw,
        compound.smiles,
        analysis.get("canonical_smiles"),
        analysis.get("flat_smiles"),
        compound.inchi,
        compound.inchikey,
        model_key,
        SYNONYM_SEPARATOR.join(compound.synonyms),
        json.dumps(analysis.get("descriptors")) if analysis else None,
        splits.get(model_key),
    )


def _name_rows(index, compound):
    names = [compound.common_name, compound.iupac_name] + compound.synonyms
    seen = set()
    for rank, name in enumerate(names):
        key = lookup_key(name)
        if key and key not in seen and not is_cas(name):
            seen.add(key)
            yield key, index, rank
