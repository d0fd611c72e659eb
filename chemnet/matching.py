"""Find the store's compound for a parsed query: exact identifiers and names, then typos.

One-edit typos are looked up first (microseconds, see Store.one_edit); the store's similarity
scan runs only when that finds nothing. Typo hits that are probably wrong are dropped.
"""

from __future__ import annotations

from rapidfuzz import fuzz

from chemnet import names
from chemnet.query import Query, looks_chemical


def store_lookup(store, query: Query, fuzzy: bool = True) -> tuple:
    """(the store's Match for a query or None, other close matches for a typo).

    Exact identifiers and names come first; then a typo-tolerant search, whose best hit is kept
    only when it is plausible (see `plausible_fuzzy`).
    """
    if query.kind == "cid":
        return exact_match(store.by_cid(int(query.subject)), "cid"), []
    if query.kind == "cas":
        return exact_match(store.by_cas(query.subject), "cas"), []
    if query.kind == "inchikey":
        return exact_match(store.by_inchikey(query.subject), "inchikey"), []
    exact = exact_match(store.by_name(query.subject), "name")
    if exact is not None or not fuzzy:
        return exact, []
    matches = plausible(one_edit_matches(store, query.subject), query.subject)
    if not matches:  # the full similarity scan is the slow path: only when one edit is not enough
        matches = plausible(store.fuzzy(query.subject, limit=4), query.subject)
    return (matches[0], matches[1:]) if matches else (None, [])


def plausible(matches: list, subject: str) -> list:
    return [m for m in matches if plausible_fuzzy(m, subject)]


def one_edit_matches(store, subject: str) -> list:
    """Store matches for names one typo away from subject (exact key lookups, no scan)."""
    return store.one_edit(subject, limit=4)


def plausible_fuzzy(match, subject: str) -> bool:
    """Keep a typo match when it is close, the text reads as chemistry, or it hit a main name.

    Short everyday words sit one edit away from some obscure synonym ("joke", "table"); such a
    hit is dropped unless it is very close or matches the compound's own name.
    """
    if match.score >= 90 or looks_chemical(subject):
        return True
    key = names.lookup_key(subject)
    main_names = (match.compound.name, match.compound.iupac_name)
    return any(fuzz.ratio(key, names.lookup_key(n or "")) >= 85 for n in main_names)


def exact_match(compound, how: str):
    from chemnet.store import Match

    return Match(compound, how) if compound is not None else None
