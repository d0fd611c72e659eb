"""Chat benchmark: latency per answer mode over a mixed list of queries, and the 3D build time.

The queries are drawn (seeded) from the built data: "Tell me about X" sentences, questions
about a property, bare names in upper case, IUPAC names, CAS numbers, SMILES, names with one
typo, plus messages that name no molecule. Each mode answers the whole list after a warm-up;
the script prints p50/p95/max latency per mode, how often the answer was the expected molecule
(first InChIKey block), and the time to build a 3D conformer and its viewer for small molecules.

    python bench/chat.py [--data-dir data] [--models-dir models] [--queries 300] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from chemnet import chem, paths
from chemnet.chat import ChatEngine, connectivity
from chemnet.names import is_catalogue_code, is_learnable_name

NO_MOLECULE = ["hello", "thanks!", "what can you do", "how are you", "tell me a joke"]
TEMPLATES = {
    "sentence": "Tell me about {name}",
    "question": "What is the molecular weight of {name}?",
    "upper": "{upper}",
    "iupac": "{iupac}",
    "cas": "{cas}",
    "smiles": "show me {smiles}",
    "typo": "{typo}",
}


def typo(text: str, rng: random.Random) -> str:
    """Swap two neighbouring letters inside the word (a common slip of the keyboard)."""
    if len(text) < 6:
        return text
    i = rng.randrange(1, len(text) - 2)
    return text[:i] + text[i + 1] + text[i] + text[i + 2:]


def build_queries(store_path: Path, count: int, seed: int) -> list[tuple[str, str, str | None]]:
    """(kind, message, expected InChIKey) triples; expected is None for no-molecule messages."""
    import sqlite3

    rng = random.Random(seed)
    with sqlite3.connect(f"file:{store_path}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT name, iupac_name, cas, canonical_smiles, inchikey FROM compounds "
            "WHERE split IS NOT NULL AND name != '' AND cas != '' ORDER BY id"
        ).fetchall()
    # Names that are registry codes or CAS numbers ("nsc518045") are not what people type.
    rows = [row for row in rows if is_learnable_name(row[0]) and not is_catalogue_code(row[0])]
    rng.shuffle(rows)
    kinds = list(TEMPLATES)
    queries = []
    for i, (name, iupac, cas, smiles, key) in enumerate(rows[: count - len(NO_MOLECULE)]):
        kind = kinds[i % len(kinds)]
        text = TEMPLATES[kind].format(name=name, upper=name.upper(), iupac=iupac or name,
                                      cas=cas, smiles=smiles, typo=typo(name, rng))
        queries.append((kind, text, key))
    queries += [("no_molecule", text, None) for text in NO_MOLECULE]
    return queries


def run_mode(engine: ChatEngine, mode: str, queries) -> dict:
    """Answer every query in one mode; latency percentiles and hit rate by query kind."""
    engine.warm()  # store, typo index, model: loaded once per process, not per query
    times, hits, sources = [], {}, {}
    for kind, text, expected in queries:
        start = time.perf_counter()
        result = engine.answer(text, mode)
        times.append(time.perf_counter() - start)
        sources[result["source"]] = sources.get(result["source"], 0) + 1
        if expected is None:
            right = result["status"] == "not_found"
        else:
            right = connectivity(result.get("inchikey")) == connectivity(expected)
        hits.setdefault(kind, []).append(right)
    ms = np.array(times) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "max_ms": round(float(ms.max()), 2),
        "correct": round(float(np.mean([h for v in hits.values() for h in v])), 3),
        "by_kind": {kind: round(float(np.mean(v)), 3) for kind, v in hits.items()},
        "sources": sources,
    }


def bench_3d(smiles_list: list[str]) -> dict:
    """Seconds to embed and optimise a conformer, and to build the viewer HTML, per molecule."""
    sys.path.insert(0, str(paths.ROOT / "app"))
    from molview import view_html  # app helper; importing it needs no running Streamlit

    conformer, viewer = [], []
    for smiles in smiles_list:
        start = time.perf_counter()
        block = chem.conformer_molblock(smiles)
        conformer.append(time.perf_counter() - start)
        if block:
            start = time.perf_counter()
            view_html(block)
            viewer.append(time.perf_counter() - start)
    return {
        "molecules": len(smiles_list),
        "conformer_p50_ms": round(statistics.median(conformer) * 1000, 1),
        "conformer_p95_ms": round(float(np.percentile(conformer, 95)) * 1000, 1),
        "viewer_html_p50_ms": round(statistics.median(viewer) * 1000, 2) if viewer else None,
    }


def small_molecules(data_dir: Path, count: int, seed: int) -> list[str]:
    """SMILES of model-set molecules with at most 30 heavy atoms, the classroom case."""
    frame = pd.read_parquet(data_dir / "molecules.parquet", columns=["smiles", "heavy_atoms"])
    frame = frame[frame["heavy_atoms"] <= 30]
    return frame.sample(n=min(count, len(frame)), random_state=seed)["smiles"].tolist()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=paths.DATA_DIR)
    parser.add_argument("--models-dir", type=Path, default=paths.MODELS_DIR)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--molecules", type=int, default=30, help="molecules for the 3D timing")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    store_path = args.data_dir / "chemnet.sqlite"
    if not store_path.exists():
        print(f"error: {store_path} is missing; run `python -m chemnet.data build`",
              file=sys.stderr)
        return 1
    engine = ChatEngine(store_path=store_path, name_model=args.models_dir / "name2smiles.pth",
                        image_model=args.models_dir / "image2smiles.pth")
    queries = build_queries(store_path, args.queries, args.seed)
    model_note = "present" if engine.name_model.exists() else "missing (ai answers 'error')"
    print(f"{len(queries)} queries; name model {model_note}")
    report = {"queries": len(queries), "name_model": engine.name_model.exists(), "modes": {}}
    for mode in ("fallback", "auto", "ai"):
        figures = run_mode(engine, mode, queries)
        report["modes"][mode] = figures
        print(f"{mode:8s} p50 {figures['p50_ms']:7.2f} ms  p95 {figures['p95_ms']:7.2f} ms  "
              f"max {figures['max_ms']:7.2f} ms  correct {figures['correct']:.1%}  "
              f"{figures['by_kind']} sources {figures['sources']}")
    report["3d"] = bench_3d(small_molecules(args.data_dir, args.molecules, args.seed))
    print(f"3D (<= 30 heavy atoms, {report['3d']['molecules']} molecules): conformer p50 "
          f"{report['3d']['conformer_p50_ms']} ms, p95 {report['3d']['conformer_p95_ms']} ms; "
          f"viewer HTML p50 {report['3d']['viewer_html_p50_ms']} ms")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
