"""Training page in headless Chromium: launch a quick run, reload, see the curves keep growing.

Uses the shared `streamlit_server` (app/Home.py on the tiny dataset) and `browser_page`
fixtures from conftest.py; the run goes to the server's temporary results folder.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from chemnet import runs

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RUN_ID = "browser-run"
# Plotted points of every chart, from the points plotly computed (calcdata), since a chart
# outside the viewport may not have drawn its markers.
COUNT_POINTS = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
    .flatMap(plot => plot.calcdata || []).reduce((n, trace) => n + trace.length, 0)"""


def count_points(page) -> int:
    return int(page.evaluate(COUNT_POINTS))


def wait_for_points(page, more_than: int, timeout: float = 400) -> int:
    """Wait until the charts show more than `more_than` plotted points; return the count."""
    deadline = time.monotonic() + timeout
    while (count := count_points(page)) <= more_than:
        assert time.monotonic() < deadline, f"still {count} points after {timeout:.0f} s"
        page.wait_for_timeout(1000)
    return count


def test_quick_run_curve_grows_after_reload(streamlit_server, app_dirs, browser_page):
    page, root = browser_page, app_dirs.results / "runs"
    page.goto(f"{streamlit_server}/train", wait_until="domcontentloaded")
    # Wait for the whole page (the runs part comes after the form) before looking at the form.
    done = page.get_by_text("No training runs yet").or_(page.get_by_text("Runs to show"))
    done.first.wait_for(timeout=90_000)
    start = page.get_by_role("button", name="Start training")
    if not start.is_visible():  # the form folds away once runs exist
        page.get_by_text("Start a new run").click()
    start.wait_for()
    for label, value in (("Epochs", "30"), ("Batch size", "16"),
                         ("Data limit, pairs (0 = all)", "40"), ("Run id (optional)", RUN_ID)):
        page.get_by_label(label, exact=True).fill(value)
    start.click()
    page.get_by_text(f"Started {RUN_ID}").wait_for(timeout=60_000)
    try:
        first = wait_for_points(page, 0)

        # A reload starts a new session: the run lives on disk, so the page finds it again and
        # its live panel keeps refreshing on its own.
        page.reload(wait_until="domcontentloaded")
        page.get_by_text(RUN_ID).first.wait_for(timeout=60_000)
        assert wait_for_points(page, first) > first

        # The app header also has a "Stop" button (stop the script) while a rerun is going on.
        page.get_by_test_id("stButton").get_by_role("button", name="Stop").click()
        info = runs.wait_for(RUN_ID, lambda i: not i.active, timeout=120, runs_dir=root)
        assert info.state == "stopped"
        page.get_by_test_id("stButton").get_by_role("button", name="Resume").wait_for(
            timeout=60_000
        )
    finally:
        for info in runs.active_runs(root):
            os.kill(info.pid, signal.SIGKILL)
