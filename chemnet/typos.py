"""Fast typo lookup: names one edit away from the query, found by exact key in the store.

Most typos are one slip: a letter dropped, doubled, swapped with its neighbour or replaced.
Spelling out every such variant of the lookup key (about 70 per character) and asking the
store's indexed name table for them takes milliseconds, where a similarity scan over all names
takes a few hundred; the chat tries this first and scans only when it finds nothing.
"""

from __future__ import annotations

import sqlite3
import string
import threading
from pathlib import Path

from rapidfuzz import fuzz

from chemnet.names import lookup_key

ALPHABET = string.ascii_lowercase + string.digits  # the characters a lookup key keeps
MIN_KEY, MAX_KEY = 4, 60  # shorter keys have too many neighbours; longer ones too many variants


def one_edit_keys(key: str) -> set[str]:
    """Every string one deletion, transposition, substitution or insertion away from key."""
    splits = [(key[:i], key[i:]) for i in range(len(key) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    swaps = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaces = {a + c + b[1:] for a, b in splits if b for c in ALPHABET}
    inserts = {a + c + b for a, b in splits for c in ALPHABET}
    return (deletes | swaps | replaces | inserts) - {key}


class TypoIndex:
    """One-edit lookups against a store's name table (read-only, one connection per thread)."""

    def __init__(self, store_path: Path | str):
        self.uri = f"{Path(store_path).resolve().as_uri()}?mode=ro"
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.uri, uri=True)
            self._local.connection = connection
        return connection

    def candidates(self, query: str, limit: int = 4) -> list[tuple[int, float]]:
        """(compound id, similarity 0..100) of names one edit from query, main names first."""
        key = lookup_key(query)
        if not MIN_KEY <= len(key) <= MAX_KEY:
            return []
        variants = sorted(one_edit_keys(key))
        marks = ",".join("?" * len(variants))
        rows = self._connection().execute(
            f"SELECT key, compound_id, rank FROM names WHERE key IN ({marks}) "
            "ORDER BY rank, compound_id LIMIT 50",
            variants,
        ).fetchall()
        found: dict[int, float] = {}
        for name_key, compound_id, _rank in rows:
            if compound_id not in found:
                found[compound_id] = round(fuzz.ratio(key, name_key), 1)
            if len(found) == limit:
                break
        return list(found.items())
