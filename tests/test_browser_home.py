"""A real browser opens the app: the overview's counts, then the dataset explorer's caffeine."""

import json

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_overview_then_explorer_in_a_browser(streamlit_server, browser_page, app_dirs):
    counts = json.loads((app_dirs.data / "build.json").read_text())["counts"]
    page = browser_page
    page.goto(streamlit_server, wait_until="domcontentloaded")
    page.get_by_text("Molecular weight of the model dataset").wait_for(timeout=60_000)
    metrics = page.locator("[data-testid='stMetricValue']").all_inner_texts()
    assert f"{counts['molecules']:,}" in metrics

    page.get_by_role("link", name="Dataset explorer").click()
    search = page.get_by_label("Name, formula or InChIKey")
    search.wait_for(timeout=60_000)
    search.fill("caffeine")
    search.press("Enter")
    page.get_by_role("heading", name="caffeine").wait_for(timeout=60_000)
    facts = page.locator("[data-testid='stMarkdownContainer']", has_text="g/mol")
    assert "C8H10N4O2" in facts.last.inner_text()
    drawing = page.locator("[data-testid='stImage'] img").first
    drawing.wait_for(timeout=30_000)
    assert drawing.evaluate("img => img.complete && img.naturalWidth > 0")
    assert page.locator("[data-testid='stException']").count() == 0
