"""Lookup benchmark: the compound store against `chemicals.identifiers.search_chemical`.

Draws 1,000 mixed queries from the built tables (common names, IUPAC names, synonyms, CAS
numbers, and names with one seeded typo), sends every query through both in the same run and
prints p50/p95 latency, the speed ratio, and each one's hit rate by InChIKey.

A hit is an answer whose InChIKey shares the expected molecule's first block (the 14-character
connectivity hash): the model dataset's keys are stereo-free, the tables' are not, and a
stereoisomer of the asked-for molecule is the right answer to a stereo-free name.

    python bench/lookup.py [--data-dir data] [--queries 1000] [--seed 0] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import string
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from chemnet import paths
from chemnet.store import Store, get_store

# Share of each query kind in the mix; they add up to 1.
MIX = {"common": 0.25, "iupac": 0.15, "synonym": 0.20, "cas": 0.20, "typo": 0.20}
MIN_TYPO_LENGTH = 6
WARMUP_MISS = "no such compound qqxz"


@dataclass
class Query:
    text: str
    kind: str
    inchikey: str  # the expected molecule (stereo-free key of the model dataset)


def make_queries(data_dir: Path, count: int, seed: int) -> list[Query]:
    """Sample count distinct queries of the MIX kinds from the tables in data_dir."""
    rng = random.Random(seed)
    names = pd.read_parquet(data_dir / "names.parquet", columns=["name", "kind", "inchikey"])
    wanted = {kind: round(share * count) for kind, share in MIX.items()}
    queries: list[Query] = []
    for kind in ("common", "iupac", "synonym"):
        rows = names[names["kind"] == kind].sample(frac=1.0, random_state=seed)
        queries += [Query(n, kind, k) for n, k in zip(rows["name"], rows["inchikey"])][
            : wanted[kind]
        ]
    queries += cas_queries(data_dir, wanted["cas"], seed)
    queries += typo_queries(names, wanted["typo"], rng)
    unique = {query.text: query for query in queries}  # no query twice, so no cache helps
    ordered = list(unique.values())
    rng.shuffle(ordered)
    return ordered


def cas_queries(data_dir: Path, count: int, seed: int) -> list[Query]:
    """CAS numbers of randomly drawn model molecules, read from the store."""
    molecules = pd.read_parquet(data_dir / "molecules.parquet", columns=["inchikey"])
    store = get_store(data_dir / "chemnet.sqlite")
    queries = []
    for key in molecules["inchikey"].sample(frac=1.0, random_state=seed):
        compound = store.by_inchikey(key)
        if compound is not None and compound.cas:
            queries.append(Query(compound.cas, "cas", key))
            if len(queries) == count:
                break
    return queries


def typo_queries(names: pd.DataFrame, count: int, rng: random.Random) -> list[Query]:
    """Common names and synonyms with one random edit that makes them no known name."""
    pool = names[names["kind"].isin(["common", "synonym"])
                 & (names["name"].str.len() >= MIN_TYPO_LENGTH)]
    known = set(names["name"].str.lower())
    queries = []
    for index in rng.sample(range(len(pool)), min(len(pool), count * 3)):
        name, key = pool["name"].iat[index], pool["inchikey"].iat[index]
        typo = one_edit(name, rng)
        if typo.lower() not in known:
            queries.append(Query(typo, "typo", key))
            if len(queries) == count:
                break
    return queries


def one_edit(text: str, rng: random.Random) -> str:
    """Delete, insert, replace or swap one letter of text, never the first one."""
    letters = [i for i, char in enumerate(text) if char.isalpha() and i > 0]
    if not letters:
        return text
    i = rng.choice(letters)
    edit = rng.choice(("delete", "insert", "replace", "swap"))
    new = rng.choice(string.ascii_lowercase)
    if edit == "delete":
        return text[:i] + text[i + 1:]
    if edit == "insert":
        return text[:i] + new + text[i:]
    if edit == "replace":
        return text[:i] + (new if new != text[i] else "x") + text[i + 1:]
    if i + 1 < len(text) and text[i + 1] != text[i]:
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    return text[:i] + text[i + 1:]


def store_lookup(data_dir: Path):
    """A function query -> InChIKey or None over chemnet's compound store (a fresh one)."""
    store = Store(data_dir / "chemnet.sqlite")

    def lookup(text: str) -> str | None:
        match = store.lookup(text)
        return match.compound.inchikey if match else None

    return lookup


def chemicals_lookup():
    """A function query -> InChIKey or None over chemicals.identifiers.search_chemical."""
    from chemicals.identifiers import search_chemical

    def lookup(text: str) -> str | None:
        try:
            # cache=False: every query is timed as a fresh search, like the store's.
            return search_chemical(text, cache=False).InChI_key
        except Exception:  # chemicals raises (ValueError and others) for anything not found
            return None

    return lookup


def measure(lookup, queries: list[Query]) -> dict:
    """Time every query and score the answers against the expected molecules."""
    # Load tables and indexes before timing: a hit, then a miss that reaches the slow paths
    # (the store's fuzzy index, chemicals' autoloaded databases).
    started = time.perf_counter()
    lookup(queries[0].text)
    lookup(WARMUP_MISS)
    startup = time.perf_counter() - started
    times, hits = [], []
    for query in queries:
        tick = time.perf_counter()
        answer = lookup(query.text)
        times.append((time.perf_counter() - tick) * 1000)
        hits.append(bool(answer) and answer[:14] == query.inchikey[:14])
    times, hits = np.array(times), np.array(hits)
    kinds = np.array([query.kind for query in queries])
    return {
        "startup_s": round(startup, 2),
        "p50_ms": round(float(np.percentile(times, 50)), 3),
        "p95_ms": round(float(np.percentile(times, 95)), 3),
        "mean_ms": round(float(times.mean()), 3),
        "hit_rate": round(float(hits.mean()), 4),
        "hit_rate_by_kind": {k: round(float(hits[kinds == k].mean()), 4) for k in MIX
                             if (kinds == k).any()},
        "p95_ms_by_kind": {k: round(float(np.percentile(times[kinds == k], 95)), 3)
                           for k in MIX if (kinds == k).any()},
    }


def report(results: dict, queries: list[Query]) -> str:
    """The figures as a small text table."""
    kinds = pd.Series([query.kind for query in queries]).value_counts()
    lines = [f"{len(queries)} queries: " + ", ".join(f"{kinds.get(k, 0)} {k}" for k in MIX), ""]
    lines.append(f"{'':18}{'startup s':>10}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}"
                 f"{'hits':>8}  " + "  ".join(f"{k:>7}" for k in MIX))
    for label, figures in results.items():
        by_kind = "  ".join(f"{figures['hit_rate_by_kind'].get(k, 0):>7.1%}" for k in MIX)
        lines.append(f"{label:18}{figures['startup_s']:>10.2f}{figures['p50_ms']:>9.3f}"
                     f"{figures['p95_ms']:>9.3f}{figures['mean_ms']:>9.3f}"
                     f"{figures['hit_rate']:>8.1%}  {by_kind}")
    lines += ["", f"{'p95 ms by kind':18}" + "  ".join(f"{k:>7}" for k in MIX)]
    for label, figures in results.items():
        lines.append(f"{label:18}" + "  ".join(
            f"{figures['p95_ms_by_kind'].get(k, 0):>7.2f}" for k in MIX))
    store, other = results["chemnet store"], results["chemicals"]
    ratios = {q: other[f"{q}_ms"] / store[f"{q}_ms"] for q in ("p50", "p95", "mean")}
    lines += ["", "speed ratio, chemicals time / store time (above 1: the store is faster): "
              + ", ".join(f"{q} {ratio:.2f}x" for q, ratio in ratios.items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=paths.DATA_DIR)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if not (args.data_dir / "names.parquet").exists():
        print(f"no built data in {args.data_dir}; run `python -m chemnet.data build` first",
              file=sys.stderr)
        return 2

    queries = make_queries(args.data_dir, args.queries, args.seed)
    results = {
        "chemnet store": measure(store_lookup(args.data_dir), queries),
        "chemicals": measure(chemicals_lookup(), queries),
    }
    print(report(results, queries))
    if args.json:
        args.json.write_text(json.dumps({"queries": len(queries), **results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
