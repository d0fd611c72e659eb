"""Read the PubChem-derived identifier tables that ship inside the `chemicals` package."""

from __future__ import annotations

import importlib.resources
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

# Read in this order: when two tables hold the same InChIKey, the first one wins. The PubChem
# pair is the bulk; the other two hold famous compounds the pair lacks (aspirin, cholesterol,
# water).
TABLES = (
    "chemical identifiers pubchem large.tsv",
    "chemical identifiers pubchem small.tsv",
    "chemical identifiers example user db.tsv",
    "Inorganic db.tsv",
)
BULK_TABLE = TABLES[0]


@dataclass
class RawCompound:
    """One row of an identifier table, as the table gives it."""

    cid: int
    cas: str
    formula: str
    mw: float
    smiles: str
    inchi: str
    inchikey: str
    iupac_name: str
    common_name: str
    synonyms: list[str] = field(default_factory=list)
    source: str = ""


def identifiers_dir() -> Path:
    """The folder of identifier tables inside the installed `chemicals` package."""
    return Path(str(importlib.resources.files("chemicals") / "Identifiers"))


def parse_row(line: str, source: str) -> RawCompound | None:
    """Turn one tab-separated line into a RawCompound; None for a malformed line."""
    parts = line.rstrip("\n").split("\t")
    if len(parts) < 8 or not parts[6]:
        return None
    parts += [""] * (9 - len(parts))
    try:
        cid = int(parts[0])
        mw = float(parts[3])
    except ValueError:
        return None
    inchi = parts[5]
    if inchi and not inchi.startswith("InChI="):
        inchi = "InChI=1S/" + inchi
    return RawCompound(
        cid=cid if cid > 0 else -1,
        cas=parts[1],
        formula=parts[2],
        mw=mw,
        smiles=parts[4],
        inchi=inchi,
        inchikey=parts[6],
        iupac_name=parts[7],
        common_name=parts[8] or parts[7],
        synonyms=[s for s in parts[9:] if s],
        source=source,
    )


def read_table(name: str, limit: int | None = None) -> Iterator[RawCompound]:
    """Yield the compounds of one table, at most `limit` of them."""
    path = identifiers_dir() / name
    count = 0
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if limit is not None and count >= limit:
                return
            row = parse_row(line, source=name)
            if row is not None:
                count += 1
                yield row


def read_all(limit: int | None = None) -> list[RawCompound]:
    """All compounds, deduplicated by InChIKey.

    `limit` caps only the bulk PubChem table, so a small build still holds the famous compounds
    of the smaller tables (caffeine, aspirin, cholesterol, water).
    """
    seen: set[str] = set()
    compounds = []
    for table in TABLES:
        table_limit = limit if table == BULK_TABLE else None
        for row in read_table(table, table_limit):
            if row.inchikey in seen:
                continue
            seen.add(row.inchikey)
            compounds.append(row)
    logger.info("read %d unique compounds from %d tables", len(compounds), len(TABLES))
    return compounds
