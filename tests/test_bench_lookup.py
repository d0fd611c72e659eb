"""The lookup benchmark's query mix, typos and scoring, on the tiny dataset."""

import importlib.util
import random
import sys

from rapidfuzz.distance import DamerauLevenshtein

from chemnet.paths import ROOT


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_lookup", ROOT / "bench" / "lookup.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


bench = load_bench()


def test_one_edit_is_one_edit_away_and_seeded():
    rng = random.Random(3)
    for name in ("caffeine", "acetaminophen", "2-propanol", "ab"):
        typo = bench.one_edit(name, rng)
        assert typo != name
        assert DamerauLevenshtein.distance(typo, name) == 1
        assert typo[0] == name[0]
    assert bench.one_edit("caffeine", random.Random(1)) == bench.one_edit(
        "caffeine", random.Random(1))


def test_queries_mix_kinds_without_repeats(built_data):
    queries = bench.make_queries(built_data, 200, seed=0)
    texts = [query.text for query in queries]
    assert len(texts) == len(set(texts)) > 150
    assert {query.kind for query in queries} == set(bench.MIX)
    assert all(len(query.inchikey) == 27 for query in queries)
    assert queries == bench.make_queries(built_data, 200, seed=0)


def test_measure_scores_hits_by_inchikey(built_data):
    queries = [q for q in bench.make_queries(built_data, 100, seed=1) if q.kind != "typo"]
    figures = bench.measure(bench.store_lookup(built_data), queries)
    assert figures["hit_rate"] > 0.95
    assert figures["p50_ms"] <= figures["p95_ms"]
    nothing = bench.measure(lambda text: None, queries)
    assert nothing["hit_rate"] == 0.0
    assert set(nothing["hit_rate_by_kind"]) <= set(bench.MIX)
