"""Search the model dataset by any of its names, molecular weight and split.

Works on the built tables (data/molecules.parquet and data/names.parquet) rather than the
compound store, because the explorer shows what the models learn from: every name kind, and
molecules keyed by the stereo-free InChIKey both tables share.
"""

from __future__ import annotations

import pandas as pd

SPLITS = ("train", "val", "test")
RESULT_COLUMNS = ["name", "formula", "mw", "split", "cid", "smiles", "inchikey", "matched"]
MAX_TEXT = 200


def search_molecules(
    molecules: pd.DataFrame,
    names: pd.DataFrame,
    text: str = "",
    mw_min: float | None = None,
    mw_max: float | None = None,
    splits: list[str] | tuple[str, ...] | None = None,
    limit: int = 200,
) -> pd.DataFrame:
    """Molecules one of whose names contains `text` (case-insensitive), within the filters.

    Args:
        molecules: the molecules table (name, formula, mw, split, cid, smiles, inchikey).
        names: the name pairs table (name, kind, inchikey).
        text: part of any name (common, IUPAC or synonym), or an exact formula or InChIKey.
        mw_min: lowest molecular weight kept, in g/mol; None for no bound.
        mw_max: highest molecular weight kept; None for no bound.
        splits: splits kept; None or empty for all.
        limit: the most rows returned.

    Returns:
        RESULT_COLUMNS, best matches first: an exact name, then names that start with the
        text, then the rest by shortest matching name; `matched` is the name that matched.
    """
    frame = molecules
    if mw_min is not None:
        frame = frame[frame["mw"] >= float(mw_min)]
    if mw_max is not None:
        frame = frame[frame["mw"] <= float(mw_max)]
    if splits:
        frame = frame[frame["split"].isin(list(splits))]
    query = (text or "").strip().lower()[:MAX_TEXT]
    if not query:
        return frame.assign(matched=frame["name"])[RESULT_COLUMNS].head(int(limit))
    ranked = _rank_names(frame, names, query)
    result = frame.merge(ranked, on="inchikey").sort_values(["rank", "length", "name"])
    return result[RESULT_COLUMNS].head(int(limit)).reset_index(drop=True)


def _rank_names(frame: pd.DataFrame, names: pd.DataFrame, query: str) -> pd.DataFrame:
    """The best-matching name of each molecule of frame, with its rank and length."""
    candidates = pd.concat([
        names[["name", "inchikey"]],
        frame[["name", "inchikey"]],
        frame[["formula", "inchikey"]].rename(columns={"formula": "name"}),
    ])
    lowered = candidates["name"].astype(str).str.lower()
    hit = lowered.str.contains(query, regex=False) | (lowered == query)
    hits = candidates[hit].assign(lowered=lowered[hit])
    hits = hits[hits["inchikey"].isin(frame["inchikey"])]
    if len(query) == 27 and query[14] == "-":  # looks like an InChIKey
        keyed = frame.loc[frame["inchikey"].str.lower() == query, ["name", "inchikey"]]
        hits = pd.concat([hits, keyed.assign(lowered=query)])
    rank = (~hits["lowered"].eq(query)).astype(int) + (~hits["lowered"].str.startswith(query))
    hits = hits.assign(rank=rank, length=hits["lowered"].str.len())
    best = hits.sort_values(["rank", "length"]).drop_duplicates("inchikey")
    return best.rename(columns={"name": "matched"})[["inchikey", "matched", "rank", "length"]]


def molecule_names(names: pd.DataFrame, inchikey: str) -> pd.DataFrame:
    """All names of one molecule with their kind, common names first, then IUPAC, synonyms."""
    order = {"common": 0, "iupac": 1, "synonym": 2}
    rows = names[names["inchikey"] == inchikey][["name", "kind"]]
    return rows.sort_values("kind", key=lambda kinds: kinds.map(order).fillna(3),
                            kind="stable").reset_index(drop=True)
