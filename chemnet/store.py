"""The compound store: a read-only SQLite file with name, CAS, InChIKey, SMILES and fuzzy lookup.

Every compound of the bundled tables is here, salts and inorganics included, so the chat can
answer for compounds the models never saw. Reads go through one read-only connection per
thread, so a single Store can be shared by all Streamlit sessions.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
from rapidfuzz import fuzz, process

from chemnet import chem, paths
from chemnet.names import is_cas, lookup_key

logger = logging.getLogger(__name__)

MAX_QUERY_LENGTH = 500
FUZZY_MIN_SCORE = 85.0
FUZZY_SYNONYMS = 40  # synonyms per compound that take part in fuzzy matching
INCHIKEY_PATTERN = re.compile(r"^[A-Z]{14}-[A-Z]{10}-[A-Z]$")
CID_PATTERN = re.compile(r"^(?:cid\s*:?\s*)?(\d{1,9})$", re.IGNORECASE)

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


@dataclass
class Compound:
    """A compound of the store, as the chat and the pages show it."""

    cid: int
    name: str
    formula: str
    mw: float
    smiles: str
    inchi: str
    inchikey: str
    iupac_name: str
    cas: str
    synonyms: list[str] = field(default_factory=list)
    descriptors: dict = field(default_factory=dict)
    split: str | None = None
    canonical_smiles: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Match:
    """A lookup result: the compound, how it was found, and a score out of 100."""

    compound: Compound
    how: str
    score: float = 100.0


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
        json.dumps(compound.synonyms),
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


class Store:
    """Read-only access to the compound store; safe to share between threads."""

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path or paths.STORE_SQLITE)
        if not self.path.exists():
            raise FileNotFoundError(
                f"compound store {self.path} is missing; run `python -m chemnet.data build`"
            )
        self._local = threading.local()
        self._fuzzy_lock = threading.Lock()
        self._fuzzy_buckets: dict[int, tuple[list[str], list[int]]] | None = None

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            connection = sqlite3.connect(uri, uri=True)
            connection.row_factory = sqlite3.Row
            self._local.connection = connection
        return connection

    def _fetch_one(self, sql: str, params: tuple) -> Compound | None:
        row = self._connection().execute(sql, params).fetchone()
        return _to_compound(row) if row is not None else None

    def by_id(self, compound_id: int) -> Compound | None:
        return self._fetch_one("SELECT * FROM compounds WHERE id = ?", (compound_id,))

    def by_cid(self, cid: int) -> Compound | None:
        return self._fetch_one("SELECT * FROM compounds WHERE cid = ? LIMIT 1", (int(cid),))

    def by_cas(self, cas: str) -> Compound | None:
        return self._fetch_one("SELECT * FROM compounds WHERE cas = ? LIMIT 1", (cas.strip(),))

    def by_inchikey(self, key: str) -> Compound | None:
        """Find a compound by its InChIKey, or by the stereo-free key the models use."""
        key = key.strip().upper()
        found = self._fetch_one("SELECT * FROM compounds WHERE inchikey = ? LIMIT 1", (key,))
        return found or self._fetch_one(
            "SELECT * FROM compounds WHERE model_inchikey = ? LIMIT 1", (key,)
        )

    def by_smiles(self, smiles: str) -> Compound | None:
        """Find a compound by structure; the query is canonicalised first."""
        canonical = chem.canonical_smiles(smiles.strip())
        if canonical is None:
            return None
        found = self._fetch_one(
            "SELECT * FROM compounds WHERE canonical_smiles = ? LIMIT 1", (canonical,)
        )
        if found is None:  # a query without stereo still finds a stereo-specific entry
            flat = chem.stereo_free_smiles(canonical)
            found = self._fetch_one(
                "SELECT * FROM compounds WHERE flat_smiles = ? ORDER BY id LIMIT 1", (flat,)
            )
        return found

    def by_name(self, name: str) -> Compound | None:
        """Exact lookup by name or synonym, insensitive to case, spacing and punctuation."""
        key = lookup_key(name)
        if not key:
            return None
        row = (
            self._connection()
            .execute(
                "SELECT compound_id FROM names WHERE key = ? ORDER BY rank, compound_id LIMIT 1",
                (key,),
            )
            .fetchone()
        )
        return self.by_id(row[0]) if row else None

    def fuzzy(self, query: str, limit: int = 5, min_score: float = FUZZY_MIN_SCORE) -> list[Match]:
        """Names within a few typos of `query`, best first, one entry per compound."""
        key = lookup_key(query)
        if len(key) < 4:
            return []
        hits = []
        for keys, ids in self._fuzzy_candidates(len(key), min_score):
            found = process.extract(key, keys, scorer=fuzz.ratio, limit=limit * 4,
                                    score_cutoff=min_score)
            hits += [(score, ids[position]) for _, score, position in found]
        hits.sort(key=lambda hit: -hit[0])
        matches, seen = [], set()
        for score, compound_id in hits:
            if compound_id not in seen:
                seen.add(compound_id)
                matches.append(Match(self.by_id(compound_id), "fuzzy", round(score, 1)))
        return matches[:limit]

    def _fuzzy_candidates(self, length: int, min_score: float):
        """The name buckets whose length allows a ratio of at least `min_score`.

        fuzz.ratio is 2M / (len(a) + len(b)) with M <= min(len(a), len(b)), so a name much
        longer or shorter than the query cannot reach the cut-off; skipping those buckets makes
        a typo lookup several times faster.
        """
        buckets = self._fuzzy_index()
        ratio = min_score / 100
        shortest = int(length * ratio / (2 - ratio))
        longest = int(length * (2 - ratio) / ratio) + 1
        return [buckets[n] for n in range(shortest, longest + 1) if n in buckets]

    def _fuzzy_index(self) -> dict[int, tuple[list[str], list[int]]]:
        with self._fuzzy_lock:
            if self._fuzzy_buckets is None:
                rows = self._connection().execute(
                    "SELECT key, compound_id FROM names WHERE rank < ? ORDER BY rank, compound_id",
                    (2 + FUZZY_SYNONYMS,),
                )
                buckets: dict[int, tuple[list[str], list[int]]] = {}
                for key, compound_id in rows:
                    keys, ids = buckets.setdefault(len(key), ([], []))
                    keys.append(key)
                    ids.append(compound_id)
                self._fuzzy_buckets = buckets
                logger.info("fuzzy index holds %d names", sum(len(k) for k, _ in buckets.values()))
        return self._fuzzy_buckets

    def lookup(self, query: str) -> Match | None:
        """Find the compound a free-text identifier means: CID, CAS, InChIKey, name, SMILES, typo.

        Empty, overlong or meaningless queries return None; nothing here raises on user text.
        """
        if not isinstance(query, str):
            return None
        text = query.strip()
        if not text or len(text) > MAX_QUERY_LENGTH:
            return None
        return self._exact(text) or self._fuzzy_best(text)

    def _exact(self, text: str) -> Match | None:
        cid = CID_PATTERN.match(text)
        if cid and text.lower().startswith("cid"):
            found = self.by_cid(int(cid.group(1)))
            return Match(found, "cid") if found else None
        if is_cas(text):
            found = self.by_cas(text)
            return Match(found, "cas") if found else None
        if INCHIKEY_PATTERN.match(text.upper()) and "-" in text:
            found = self.by_inchikey(text)
            return Match(found, "inchikey") if found else None
        found = self.by_name(text)
        if found:
            return Match(found, "name")
        if " " not in text:
            found = self.by_smiles(text)
            if found:
                return Match(found, "smiles")
        return None

    def _fuzzy_best(self, text: str) -> Match | None:
        matches = self.fuzzy(text, limit=1)
        return matches[0] if matches else None

    def search(
        self,
        text: str = "",
        mw_min: float | None = None,
        mw_max: float | None = None,
        split: str | None = None,
        limit: int = 200,
    ) -> pd.DataFrame:
        """Model-set molecules whose name contains `text`, filtered by MW range and split."""
        clauses, params = ["split IS NOT NULL"], []
        text = text.replace("\x00", "")  # SQLite would end the pattern at a NUL byte
        if text.strip():
            clauses.append("(name LIKE ? ESCAPE '\\' OR iupac_name LIKE ? ESCAPE '\\')")
            pattern = f"%{_escape_like(text.strip().lower()[:MAX_QUERY_LENGTH])}%"
            params += [pattern, pattern]
        if mw_min is not None:
            clauses.append("mw >= ?")
            params.append(float(mw_min))
        if mw_max is not None:
            clauses.append("mw <= ?")
            params.append(float(mw_max))
        if split:
            clauses.append("split = ?")
            params.append(split)
        sql = (
            "SELECT cid, name, formula, mw, canonical_smiles AS smiles, inchikey, split "
            f"FROM compounds WHERE {' AND '.join(clauses)} ORDER BY id LIMIT ?"
        )
        return pd.read_sql_query(sql, self._connection(), params=params + [int(limit)])

    def counts(self) -> dict:
        """Compounds in the store, model molecules, and molecules per split."""
        connection = self._connection()
        total = connection.execute("SELECT COUNT(*) FROM compounds").fetchone()[0]
        rows = connection.execute(
            "SELECT split, COUNT(*) FROM compounds WHERE split IS NOT NULL GROUP BY split"
        ).fetchall()
        by_split = {split: n for split, n in rows}
        return {"compounds": total, "molecules": sum(by_split.values()), **by_split}


def _escape_like(text: str) -> str:
    """Make %, _ and the escape character itself match literally in a LIKE pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _to_compound(row: sqlite3.Row) -> Compound:
    return Compound(
        cid=row["cid"],
        name=row["name"],
        formula=row["formula"],
        mw=row["mw"],
        smiles=row["smiles"],
        inchi=row["inchi"],
        inchikey=row["inchikey"],
        iupac_name=row["iupac_name"],
        cas=row["cas"],
        synonyms=json.loads(row["synonyms"] or "[]"),
        descriptors=json.loads(row["descriptors"]) if row["descriptors"] else {},
        split=row["split"],
        canonical_smiles=row["canonical_smiles"],
    )


_stores: dict[Path, Store] = {}
_stores_lock = threading.Lock()


def get_store(path: Path | str | None = None) -> Store:
    """The process-wide Store for `path` (default: data/chemnet.sqlite)."""
    key = Path(path or paths.STORE_SQLITE).resolve()
    with _stores_lock:
        if key not in _stores:
            _stores[key] = Store(key)
        return _stores[key]
