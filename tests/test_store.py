"""The compound store: exact, CAS, InChIKey, SMILES and fuzzy lookup, and hostile input."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from chemnet.names import one_edit_keys
from chemnet.store import Store, get_store


@pytest.fixture(scope="module")
def store(built_data):
    return get_store(built_data / "chemnet.sqlite")


def test_caffeine_by_name(store):
    match = store.lookup("Caffeine")
    assert match.how == "name"
    caffeine = match.compound
    assert caffeine.cid == 2519
    assert caffeine.formula == "C8H10N4O2"
    assert caffeine.mw == pytest.approx(194.19, abs=0.01)
    assert caffeine.inchikey == "RYYVLZVUVIJVGH-UHFFFAOYSA-N"
    assert caffeine.inchi.startswith("InChI=1S/C8H10N4O2")
    assert "guaranine" in caffeine.synonyms
    assert set(caffeine.descriptors) >= {"logp", "tpsa", "hbd", "hba", "rotatable_bonds"}


@pytest.mark.parametrize("name", ["aspirin", "cholesterol", "water"])
def test_famous_compounds_outside_the_pubchem_pair(store, name):
    assert store.lookup(name).compound.name.lower() == name


def test_synonyms_lead_to_the_same_compound(store):
    assert (
        store.lookup("Acetaminophen").compound.inchikey
        == store.lookup("paracetamol").compound.inchikey
    )


def test_case_spacing_and_greek_letters(store):
    key = store.lookup("caffeine").compound.inchikey
    assert store.lookup("  CAFFEINE ").compound.inchikey == key
    assert store.by_name("1,3,7-TRIMETHYL XANTHINE").inchikey == key


def test_cas_inchikey_cid_and_smiles(store):
    assert store.lookup("58-08-2").how == "cas"
    assert store.lookup("RYYVLZVUVIJVGH-UHFFFAOYSA-N").compound.cid == 2519
    assert store.lookup("CID 2519").compound.name == "caffeine"
    by_smiles = store.lookup("Cn1c(=O)c2c(ncn2C)n(C)c1=O")  # a non-canonical spelling
    assert by_smiles.how == "smiles"
    assert by_smiles.compound.cid == 2519


def test_typos_go_through_the_fuzzy_path(store):
    matches = store.fuzzy("cafeine")
    assert matches[0].compound.cid == 2519
    assert 85 <= matches[0].score < 100 or matches[0].score == 100
    typo = store.lookup("caffiene")
    assert typo.how == "fuzzy"
    assert typo.compound.cid == 2519
    assert 0 < typo.score < 100


@pytest.mark.parametrize(
    "query", ["hello", "", "   ", "x" * 10_000, "'; DROP TABLE compounds; --", "%", "\x00"]
)
def test_meaningless_or_hostile_queries_find_nothing(store, query):
    assert store.lookup(query) is None
    rows = store.search(text=query)
    assert rows.empty or not query.strip("\x00 ")


def test_search_filters_by_name_mw_and_split(store):
    rows = store.search(text="caff", mw_min=150, mw_max=250)
    assert "caffeine" in set(rows["name"])
    test_rows = store.search(split="test", limit=20)
    assert set(test_rows["split"]) == {"test"}


def test_store_is_read_only_and_thread_safe(store):
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda q: store.lookup(q).compound.cid, ["caffeine"] * 16))
    assert results == [2519] * 16
    import sqlite3

    with pytest.raises(sqlite3.OperationalError):
        store._connection().execute("DELETE FROM compounds")


def test_missing_store_says_how_to_build(tmp_path):
    with pytest.raises(FileNotFoundError, match="chemnet.data build"):
        Store(tmp_path / "missing.sqlite")


def test_one_edit_keys_by_hand():
    keys = one_edit_keys("ab")
    assert {"a", "b", "ba", "aab", "abz", "xb", "a9"} <= keys
    assert "ab" not in keys and "abc" in keys and "bc" not in keys
    # 2 deletions + 1 swap + 2*36 replacements + 3*36 insertions, minus duplicates and "ab".
    assert 150 < len(keys) < 185


@pytest.mark.parametrize("typo", ["caffiene", "caffeinne", "CAFFEIME"])
def test_one_edit_typos_find_the_compound(store, typo):
    matches = store.one_edit(typo)
    assert matches and matches[0].compound.cid == 2519


def test_one_edit_finds_nothing_for_short_or_far_text(store):
    assert store.one_edit("abc") == []
    assert store.one_edit("zzzzqqqqxxxx") == []
    assert store.one_edit("x" * 200) == []
