"""Search over the model dataset: name kinds, ranking, weight and split filters."""

import pandas as pd

from chemnet import explore

CAFFEINE = "RYYVLZVUVIJVGH-UHFFFAOYSA-N"
CITRATE = "AAAAAAAAAAAAAA-UHFFFAOYSA-N"
ETHANOL = "LFQSCWFLJHTTHZ-UHFFFAOYSA-N"


def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    molecules = pd.DataFrame({
        "name": ["caffeine citrate", "caffeine", "ethanol"],
        "formula": ["C14H18N4O9", "C8H10N4O2", "C2H6O"],
        "mw": [386.3, 194.19, 46.07],
        "split": ["train", "test", "val"],
        "cid": [1, 2519, 702],
        "smiles": ["x", "Cn1cnc2c1c(=O)n(C)c(=O)n2C", "CCO"],
        "inchikey": [CITRATE, CAFFEINE, ETHANOL],
    })
    names = pd.DataFrame({
        "name": ["caffeine citrate", "caffeine", "1,3,7-trimethylpurine-2,6-dione", "guaranine",
                 "ethanol", "ethyl alcohol"],
        "kind": ["common", "common", "iupac", "synonym", "common", "synonym"],
        "inchikey": [CITRATE, CAFFEINE, CAFFEINE, CAFFEINE, ETHANOL, ETHANOL],
    })
    return molecules, names


def test_exact_name_ranks_before_longer_names():
    found = explore.search_molecules(*tables(), text="Caffeine")
    assert found["name"].tolist() == ["caffeine", "caffeine citrate"]


def test_synonym_and_iupac_names_are_searched():
    found = explore.search_molecules(*tables(), text="guaran")
    assert found["inchikey"].tolist() == [CAFFEINE]
    assert found.loc[0, "matched"] == "guaranine"
    assert explore.search_molecules(*tables(), text="trimethylpurine")["cid"].tolist() == [2519]


def test_formula_and_inchikey_find_the_molecule():
    assert explore.search_molecules(*tables(), text="c2h6o")["name"].tolist() == ["ethanol"]
    found = explore.search_molecules(*tables(), text=CAFFEINE.lower())
    assert found["name"].tolist() == ["caffeine"]


def test_weight_and_split_filters():
    molecules, names = tables()
    light = explore.search_molecules(molecules, names, mw_min=40, mw_max=200)
    assert sorted(light["name"]) == ["caffeine", "ethanol"]
    test_only = explore.search_molecules(molecules, names, text="caffeine", splits=["test"])
    assert test_only["name"].tolist() == ["caffeine"]
    assert explore.search_molecules(molecules, names, splits=["val"])["name"].tolist() == [
        "ethanol"
    ]


def test_no_match_and_odd_text_return_empty_frames():
    molecules, names = tables()
    for text in ("zzzz", "'; DROP TABLE names; --", "%", "x" * 10_000, "(", "\\"):
        found = explore.search_molecules(molecules, names, text=text)
        assert found.empty, text
        assert list(found.columns) == explore.RESULT_COLUMNS


def test_limit_and_empty_text():
    found = explore.search_molecules(*tables(), text="  ", limit=2)
    assert len(found) == 2
    assert list(found.columns) == explore.RESULT_COLUMNS


def test_molecule_names_lists_common_then_iupac_then_synonyms():
    _, names = tables()
    listed = explore.molecule_names(names, CAFFEINE)
    assert listed["kind"].tolist() == ["common", "iupac", "synonym"]
    assert listed["name"].tolist()[0] == "caffeine"
    assert explore.molecule_names(names, "NOPE").empty
