"""Shared fixtures: a tiny built dataset, a running Streamlit app and a headless browser page.

Everything is built in temporary folders and pointed to through the CHEMNET_* environment
variables, so tests never touch the real data/, models/ or results/ folders.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# Molecules the chat, API and page tests ask about; the tiny dataset must contain them.
REQUIRED_NAMES = ("caffeine", "aspirin", "water")
BUILD_LIMIT = 300


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    """Poll url until it answers 200; fail early when the server process has died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def stop_process(proc: subprocess.Popen) -> None:
    """Terminate a server we started, killing it when it ignores the polite request."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def built_data(tmp_path_factory) -> Path:
    """A small dataset (molecules, names, store) with caffeine, aspirin and water in it."""
    from chemnet import dataset

    data_dir = tmp_path_factory.mktemp("data")
    dataset.build(data_dir=data_dir, limit=BUILD_LIMIT)
    _check_required_names(data_dir)
    return data_dir


def _check_required_names(data_dir: Path) -> None:
    import pandas as pd

    sqlite_path = data_dir / "chemnet.sqlite"
    assert sqlite_path.exists(), "dataset.build wrote no compound store"
    names = pd.read_parquet(data_dir / "names.parquet", columns=["name"])
    known = set(names["name"].str.lower())
    from chemnet.store import get_store

    store = get_store(sqlite_path)
    for name in REQUIRED_NAMES:
        if name in known:
            continue
        # Water is inorganic: it lives only in the store, not in the model-ready names.
        assert store.by_name(name) is not None, f"tiny dataset lacks {name}"


@pytest.fixture(scope="session")
def tiny_name_model(built_data, tmp_path_factory) -> Path:
    """A name-model checkpoint trained for one epoch on 200 pairs (seconds on one CPU thread).

    It predicts poorly; tests use it for the plumbing (loading, decoding, answer fields).
    """
    runs = tmp_path_factory.mktemp("tiny_runs")
    cmd = [
        sys.executable, "-m", "chemnet.train", "--task", "name", "--device", "cpu",
        "--data-dir", str(built_data), "--runs-dir", str(runs), "--run-id", "tiny",
        "--limit", "200", "--val-limit", "40", "--val-exact", "0", "--epochs", "1",
        "--batch-size", "32", "--num-threads", "1",
        "--model-arg", "embed=32", "--model-arg", "hidden=64",
    ]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    checkpoint = runs / "tiny" / "best.pth"
    assert result.returncode == 0 and checkpoint.exists(), result.stderr[-3000:]
    models = tmp_path_factory.mktemp("tiny_models")
    target = models / "name2smiles.pth"
    shutil.copy(checkpoint, target)
    return target


@pytest.fixture(scope="session")
def app_dirs(built_data, tmp_path_factory) -> SimpleNamespace:
    """Data, models and results folders for a test app; models/ and results/ start empty."""
    models = tmp_path_factory.mktemp("models")
    results = tmp_path_factory.mktemp("results")
    (results / "runs").mkdir(exist_ok=True)
    (results / "eval").mkdir(exist_ok=True)
    return SimpleNamespace(data=built_data, models=models, results=results)


def chemnet_env(dirs: SimpleNamespace) -> dict[str, str]:
    """The environment of a subprocess that should see only the test folders."""
    env = dict(os.environ)
    env.update(
        CHEMNET_DATA_DIR=str(dirs.data),
        CHEMNET_MODELS_DIR=str(dirs.models),
        CHEMNET_RESULTS_DIR=str(dirs.results),
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="session")
def streamlit_server(app_dirs, tmp_path_factory):
    """Start `streamlit run app/Home.py` on a free port and yield its base URL."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "Home.py"),
        "--server.headless", "true", "--server.port", str(port),
        "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
    ]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=chemnet_env(app_dirs), stdout=log,
                                stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base_url}/_stcore/health", timeout=90, proc=proc)
    except Exception as exc:
        stop_process(proc)
        pytest.fail(f"Streamlit did not start: {exc}\n{log_path.read_text()[-3000:]}")
    yield base_url
    stop_process(proc)


@pytest.fixture(scope="session")
def api_server(app_dirs, tmp_path_factory):
    """Start `python -m chemnet.api` on a free port over the test folders; yield its base URL."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("api") / "server.log"
    cmd = [sys.executable, "-m", "chemnet.api", "--host", "127.0.0.1", "--port", str(port)]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=chemnet_env(app_dirs), stdout=log,
                                stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base_url}/api/health", timeout=120, proc=proc)
    except Exception as exc:
        stop_process(proc)
        pytest.fail(f"the API did not start: {exc}\n{log_path.read_text()[-3000:]}")
    yield base_url
    stop_process(proc)


@pytest.fixture
def browser_page(tmp_path):
    """A Playwright page in headless Debian Chromium with a fresh profile and no extensions."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 1000},
        )
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(30_000)
        try:
            yield page
        finally:
            context.close()
