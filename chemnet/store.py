"""The compound store: a read-only SQLite file with name, CAS, InChIKey, SMILES and fuzzy lookup.

Every compound of the bundled tables is here, salts and inorganics included, so the chat can
answer for compounds the models never saw. The file is opened read-only and loaded once into
in-memory tables, so a single Store can be shared by all Streamlit sessions and threads.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
from rapidfuzz import fuzz, process

from chemnet import chem, paths
from chemnet.names import is_cas, lookup_key, one_edit_keys
from chemnet.store_writer import SYNONYM_SEPARATOR

logger = logging.getLogger(__name__)

MAX_QUERY_LENGTH = 500
FUZZY_MIN_SCORE = 85.0
FUZZY_SYNONYMS = 40  # synonyms per compound that take part in fuzzy matching
INCHIKEY_PATTERN = re.compile(r"^[A-Z]{14}-[A-Z]{10}-[A-Z]$")
CID_PATTERN = re.compile(r"^(?:cid\s*:?\s*)?(\d{1,9})$", re.IGNORECASE)
COLUMN_NAMES = (
    "id", "cid", "cas", "name", "iupac_name", "formula", "mw", "smiles", "canonical_smiles",
    "flat_smiles", "inchi", "inchikey", "model_inchikey", "synonyms", "descriptors", "split",
)  # fmt: skip
COLUMNS = ", ".join(COLUMN_NAMES)
MAX_ONE_EDIT_KEY = 60  # a longer key has thousands of one-edit variants; scan instead


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


class _Index:
    """The store held in memory: compound rows and every lookup table, built once per Store.

    A dict lookup costs microseconds where an SQLite query costs a tenth of a millisecond.
    Rows stay as plain tuples (synonyms as JSON text) and become Compound objects only when a
    lookup returns them, which keeps loading fast and memory modest.
    """

    def __init__(self, connection: sqlite3.Connection):
        connection.row_factory = None
        try:
            self.rows = connection.execute(
                f"SELECT {COLUMNS} FROM compounds ORDER BY id"
            ).fetchall()
            names = connection.execute(
                "SELECT key, compound_id, rank FROM names ORDER BY rank DESC, compound_id DESC"
            ).fetchall()
        finally:
            connection.row_factory = sqlite3.Row
        self.rows = [_parse_row(row) for row in self.rows]
        self.cid = self._table("cid", lambda value: value is not None and value > 0)
        self.cas = self._table("cas")
        self.inchikey = self._table("inchikey")
        self.model_key = self._table("model_inchikey")
        self.canonical = self._table("canonical_smiles")
        self.flat = self._table("flat_smiles")
        # Reversed order: the best-ranked compound of a key is written last and wins.
        self.names = {key: compound_id for key, compound_id, _ in names}
        self.buckets = _length_buckets(names)

    def _table(self, column: str, keep=bool) -> dict:
        """Value of `column` -> position of the first compound that has it."""
        field_index = COLUMN_NAMES.index(column)
        table = {}
        for position in range(len(self.rows) - 1, -1, -1):
            value = self.rows[position][field_index]
            if keep(value):
                table[value] = position
        return table


def _length_buckets(names: list) -> dict[int, tuple[list[str], list[int]]]:
    """Fuzzy-match candidates grouped by key length: main names and the first synonyms."""
    buckets: dict[int, tuple[list[str], list[int]]] = {}
    seen: set[str] = set()
    for key, compound_id, rank in reversed(names):
        if rank < 2 + FUZZY_SYNONYMS and key not in seen:
            seen.add(key)
            keys, ids = buckets.setdefault(len(key), ([], []))
            keys.append(key)
            ids.append(compound_id)
    return buckets


class Store:
    """Lookups over the compound store; safe to share between threads (read-only after load)."""

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path or paths.STORE_SQLITE)
        if not self.path.exists():
            raise FileNotFoundError(
                f"compound store {self.path} is missing; run `python -m chemnet.data build`"
            )
        self._local = threading.local()
        self._index_lock = threading.Lock()
        self._loaded: _Index | None = None

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            connection = sqlite3.connect(uri, uri=True)
            connection.row_factory = sqlite3.Row
            self._local.connection = connection
        return connection

    @property
    def _index(self) -> _Index:
        with self._index_lock:
            if self._loaded is None:
                started = time.perf_counter()
                self._loaded = _Index(self._connection())
                logger.info(
                    "store loaded: %d compounds, %d names in %.1f s",
                    len(self._loaded.rows),
                    len(self._loaded.names),
                    time.perf_counter() - started,
                )
        return self._loaded

    def warm_up(self) -> None:
        """Load the in-memory index now rather than on the first lookup."""
        _ = self._index

    def _get(self, table: str, value) -> Compound | None:
        position = getattr(self._index, table).get(value)
        return self.by_id(position) if position is not None else None

    def by_id(self, compound_id: int) -> Compound | None:
        rows = self._index.rows
        if not 0 <= compound_id < len(rows):
            return None
        return _to_compound(rows[compound_id])

    def by_cid(self, cid: int) -> Compound | None:
        return self._get("cid", int(cid))

    def by_cas(self, cas: str) -> Compound | None:
        return self._get("cas", cas.strip())

    def by_inchikey(self, key: str) -> Compound | None:
        """Find a compound by its InChIKey, or by the stereo-free key the models use."""
        key = key.strip().upper()
        return self._get("inchikey", key) or self._get("model_key", key)

    def by_smiles(self, smiles: str) -> Compound | None:
        """Find a compound by structure; the query is canonicalised first."""
        canonical = chem.canonical_smiles(smiles.strip())
        if canonical is None:
            return None
        found = self._get("canonical", canonical)
        if found is None:  # a query without stereo still finds a stereo-specific entry
            found = self._get("flat", chem.stereo_free_smiles(canonical))
        return found

    def by_name(self, name: str) -> Compound | None:
        """Exact lookup by name or synonym, insensitive to case, spacing and punctuation."""
        key = lookup_key(name)
        return self._get("names", key) if key else None

    def fuzzy(self, query: str, limit: int = 5, min_score: float = FUZZY_MIN_SCORE) -> list[Match]:
        """Names within a few typos of `query`, best first, one entry per compound.

        Names one edit away (a letter dropped, doubled, swapped or replaced) are found by exact
        key in microseconds; only when there are none does a similarity scan run.
        """
        key = lookup_key(query)
        if len(key) < 4 or len(key) > MAX_QUERY_LENGTH:
            return []
        hits = self._one_edit_hits(key) or self._scan_hits(key, limit, min_score)
        return self._matches(hits, limit, min_score)

    def one_edit(self, query: str, limit: int = 5) -> list[Match]:
        """Only the names one edit away from `query` (no similarity scan), best first."""
        key = lookup_key(query)
        if len(key) < 4:
            return []
        return self._matches(self._one_edit_hits(key), limit, 0.0)

    def _matches(self, hits: list[tuple[float, int]], limit: int, min_score: float) -> list:
        hits = sorted((hit for hit in hits if hit[0] >= min_score), key=lambda hit: -hit[0])
        matches, seen = [], set()
        for score, compound_id in hits:
            if compound_id not in seen:
                seen.add(compound_id)
                matches.append(Match(self.by_id(compound_id), "fuzzy", round(score, 1)))
        return matches[:limit]

    def _one_edit_hits(self, key: str) -> list[tuple[float, int]]:
        if len(key) > MAX_ONE_EDIT_KEY:
            return []
        names = self._index.names
        return [
            (fuzz.ratio(key, variant), names[variant])
            for variant in sorted(one_edit_keys(key))  # sorted: ties break the same every run
            if variant in names
        ]

    def _scan_hits(self, key: str, limit: int, min_score: float) -> list[tuple[float, int]]:
        hits = []
        for keys, ids in self._fuzzy_candidates(len(key), min_score):
            found = process.extract(
                key, keys, scorer=fuzz.ratio, limit=limit * 4, score_cutoff=min_score
            )
            hits += [(score, ids[position]) for _, score, position in found]
        return hits

    def _fuzzy_candidates(self, length: int, min_score: float):
        """The name buckets whose length allows a ratio of at least `min_score`.

        fuzz.ratio is 2M / (len(a) + len(b)) with M <= min(len(a), len(b)), so a name much
        longer or shorter than the query cannot reach the cut-off; skipping those buckets makes
        a scan several times faster.
        """
        buckets = self._index.buckets
        ratio = min_score / 100
        shortest = int(length * ratio / (2 - ratio))
        longest = int(length * (2 - ratio) / ratio) + 1
        return [buckets[n] for n in range(shortest, longest + 1) if n in buckets]

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


def _parse_row(row: tuple) -> tuple:
    """A row with its synonyms split and descriptors parsed once, at load time."""
    synonyms, descriptors = row[13], row[14]
    return row[:13] + (
        synonyms.split(SYNONYM_SEPARATOR) if synonyms else [],
        json.loads(descriptors) if descriptors else {},
        row[15],
    )


def _to_compound(row) -> Compound:
    """A Compound from a compounds row: an sqlite3.Row, or a tuple in COLUMNS order."""
    if not isinstance(row, tuple):
        row = tuple(row[name] for name in COLUMN_NAMES)
    (_, cid, cas, name, iupac_name, formula, mw, smiles, canonical_smiles, _, inchi, inchikey,
     _, synonyms, descriptors, split) = row  # fmt: skip
    return Compound(
        cid=cid,
        name=name,
        formula=formula,
        mw=mw,
        smiles=smiles,
        inchi=inchi,
        inchikey=inchikey,
        iupac_name=iupac_name,
        cas=cas,
        synonyms=_synonym_list(synonyms),
        descriptors=_descriptor_dict(descriptors),
        split=split,
        canonical_smiles=canonical_smiles,
    )


def _synonym_list(synonyms) -> list[str]:
    """A fresh list, so a caller that edits it never changes the shared index."""
    if isinstance(synonyms, list):
        return list(synonyms)
    return synonyms.split(SYNONYM_SEPARATOR) if synonyms else []


def _descriptor_dict(descriptors) -> dict:
    if isinstance(descriptors, dict):
        return dict(descriptors)
    return json.loads(descriptors) if descriptors else {}


_stores: dict[Path, Store] = {}
_stores_lock = threading.Lock()


def get_store(path: Path | str | None = None) -> Store:
    """The process-wide Store for `path` (default: data/chemnet.sqlite)."""
    key = Path(path or paths.STORE_SQLITE).resolve()
    with _stores_lock:
        if key not in _stores:
            _stores[key] = Store(key)
        return _stores[key]
