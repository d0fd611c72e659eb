"""AppTest over pages/data.py, the dataset explorer, run alone on the tiny dataset."""

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from chemnet.paths import ROOT

PAGE = str(ROOT / "pages" / "data.py")


@pytest.fixture
def page(built_data, monkeypatch) -> AppTest:
    monkeypatch.setenv("CHEMNET_DATA_DIR", str(built_data))
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.run()
    assert not app.exception, app.exception
    return app


def search(app: AppTest, text: str) -> AppTest:
    app.text_input(key="explore_text").input(text).run()
    assert not app.exception, app.exception
    return app


def test_page_lists_molecules_with_a_first_one_in_detail(page, built_data):
    total = len(pd.read_parquet(built_data / "molecules.parquet"))
    assert f"of {total:,} in the dataset" in page.caption[0].value
    assert len(page.dataframe[0].value) == min(total, 500)
    assert page.get("image"), "the selected molecule has no 2D drawing"
    assert [s.value for s in page.subheader][1:] == ["Descriptors", "Names"]


def test_caffeine_shows_its_names_descriptors_and_drawing(page):
    search(page, "Caffeine")
    assert page.selectbox[0].value == "RYYVLZVUVIJVGH-UHFFFAOYSA-N"
    assert page.subheader[0].value == "caffeine"
    facts = " ".join(markdown.value for markdown in page.markdown)
    assert "C8H10N4O2" in facts and "194.19" in facts and "**CID** 2519" in facts
    descriptors, names = page.dataframe[1].value, page.dataframe[2].value
    assert dict(zip(descriptors["descriptor"], descriptors["value"]))["H-bond donors"] == 0
    assert ("1,3,7-trimethylpurine-2,6-dione", "iupac") in set(zip(names["name"], names["kind"]))
    assert names.loc[0, "kind"] == "common"
    assert page.get("image")


def test_weight_and_split_filters_bound_the_results(page):
    page.slider(key="explore_mw").set_value((150.0, 200.0)).run()
    page.multiselect(key="explore_splits").set_value(["test"]).run()
    assert not page.exception
    shown = page.dataframe[0].value
    assert len(shown) > 0
    assert shown["mw"].between(150.0, 200.0).all()
    assert set(shown["split"]) == {"test"}


@pytest.mark.parametrize("text", ["hello-no-such-molecule", "'; DROP TABLE names; --",
                                  "x" * 10_000, "%_%"],
                         ids=["unknown", "sql", "10000-chars", "wildcards"])
def test_unknown_or_hostile_text_says_nothing_matches(page, text):
    search(page, text)
    assert "No molecule matches" in page.info[0].value
    assert not page.selectbox
