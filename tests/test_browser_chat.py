"""A real browser asks the chat page about caffeine and sees the formula, the 2D and 3D views.

Every request that leaves 127.0.0.1 is aborted, so the 3D view proves that 3Dmol.js is served
by the app itself (app/static/3Dmol-min.js, fetched by `python -m chemnet.assets`).
"""

import io
from urllib.parse import urlparse

import pytest
from PIL import Image, ImageStat

from chemnet.assets import THREEDMOL_JS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def block_the_internet(page) -> list[str]:
    """Abort every request to a host other than the local app; return the blocked URLs."""
    blocked: list[str] = []

    def handle(route):
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:", "about:")) or host in (
            "127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.context.route("**/*", handle)
    return blocked


def test_caffeine_shows_formula_2d_and_a_drawn_3d_view(streamlit_server, browser_page):
    if not THREEDMOL_JS.exists():
        pytest.skip("3Dmol.js is not in app/static/: run `python -m chemnet.assets`")
    page = browser_page
    blocked = block_the_internet(page)
    page.goto(f"{streamlit_server}/chat", wait_until="domcontentloaded")
    prompt = page.get_by_placeholder("Ask about a molecule", exact=False)
    prompt.wait_for(timeout=60_000)
    prompt.fill("Tell me about caffeine")
    prompt.press("Enter")

    page.get_by_text("C8H10N4O2").first.wait_for(timeout=60_000)
    drawing = page.locator("[data-testid='stImage'] img").first
    drawing.wait_for(timeout=30_000)
    assert drawing.evaluate("img => img.complete && img.naturalWidth > 0")

    frame_element = page.locator("iframe[title='st.iframe'], iframe").last
    frame_element.wait_for(timeout=30_000)
    frame = frame_element.element_handle().content_frame()
    frame.locator("canvas").first.wait_for(timeout=30_000)
    assert frame.get_by_text("failed to load").count() == 0
    assert frame.evaluate("typeof $3Dmol") == "object"
    size = frame.locator("canvas").first.evaluate("c => [c.width, c.height]")
    assert min(size) > 100, size
    page.wait_for_timeout(1500)  # let the first WebGL frame be drawn
    shot = Image.open(io.BytesIO(frame_element.screenshot())).convert("L")
    # A blank white canvas has no spread of grey levels; drawn atoms and bonds do.
    assert ImageStat.Stat(shot).stddev[0] > 5, "the 3D canvas is blank"
    assert not [url for url in blocked if "3Dmol" in url or "3dmol" in url], blocked
