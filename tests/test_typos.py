"""The one-edit typo lookup: the variants it spells and the compounds it finds."""

from chemnet.store import get_store
from chemnet.typos import TypoIndex, one_edit_keys


def test_one_edit_keys_by_hand():
    keys = one_edit_keys("ab")
    assert {"a", "b", "ba", "aab", "abz", "xb", "a9"} <= keys
    assert "ab" not in keys and "abc" in keys and "bc" not in keys
    # 2 deletions + 1 swap + 2*36 replacements + 3*36 insertions, minus duplicates and "ab".
    assert len(keys) == len(set(keys)) and 150 < len(keys) < 185


def test_typos_find_the_compound(built_data):
    store = get_store(built_data / "chemnet.sqlite")
    index = TypoIndex(store.path)
    caffeine = store.by_name("caffeine")
    for typo in ("caffiene", "cafeine", "caffeinne", "CAFFEIME"):
        ids = [cid for cid, _ in index.candidates(typo)]
        assert ids and store.by_id(ids[0]).inchikey == caffeine.inchikey, typo


def test_no_candidates_for_short_or_far_text(built_data):
    index = TypoIndex(built_data / "chemnet.sqlite")
    assert index.candidates("abc") == []
    assert index.candidates("zzzzqqqqxxxx") == []
    assert index.candidates("x" * 200) == []
