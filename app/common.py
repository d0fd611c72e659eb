"""Helpers every page shares: session-state defaults, folders, cached data and the store.

Pages call `init_page()` first, so each one also runs alone (under AppTest, say). Folders are
read from the CHEMNET_* environment variables at call time, not import time, so tests and
several app processes can point one interpreter at different data.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import pandas as pd
import streamlit as st

from chemnet import chem, dataset, paths
from chemnet.store import Store, get_store

logger = logging.getLogger(__name__)

# Defaults of the keys shared across pages; a page's own widgets keep their own keys.
STATE_DEFAULTS = {
    "selected_inchikey": None,  # the molecule last opened in the dataset explorer
}
BUILD_POLL_SECONDS = 0.5


def init_page() -> None:
    """Set missing session-state keys to their defaults; safe to call on every rerun."""
    for key, value in STATE_DEFAULTS.items():
        st.session_state.setdefault(key, value)


def data_dir() -> Path:
    """The data folder in force now (CHEMNET_DATA_DIR, else data/)."""
    return _env_dir("CHEMNET_DATA_DIR", paths.DATA_DIR)


def models_dir() -> Path:
    """The models folder in force now (CHEMNET_MODELS_DIR, else models/)."""
    return _env_dir("CHEMNET_MODELS_DIR", paths.MODELS_DIR)


def runs_dir() -> Path:
    """The training runs folder in force now (CHEMNET_RESULTS_DIR/runs, else results/runs/)."""
    return _env_dir("CHEMNET_RESULTS_DIR", paths.RESULTS_DIR) / "runs"


def _env_dir(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    return Path(value).resolve() if value else default


def ensure_data() -> bool:
    """Make sure data/ is built, building it with a progress bar when it is missing.

    The build runs in a background thread shared by all sessions, so a rerun (a click while
    waiting) or a second browser tab follows the same build instead of restarting it.

    Returns:
        True when the data is ready; False after showing an error the page should stop on.
    """
    folder = data_dir()
    if dataset.is_built(folder):
        return True
    build = _build_for(str(folder))
    if build.done.is_set() and build.error is None:  # built once, but the files went away since
        _build_for.clear()
        build = _build_for(str(folder))
    notice = st.info("First start: building the molecule database from the bundled tables; "
                     "this takes a few minutes.")
    bar = st.progress(0.0, text="Starting the build")
    while not build.done.wait(BUILD_POLL_SECONDS):
        bar.progress(build.fraction, text=build.message)
    notice.empty()
    bar.empty()
    if build.error is not None:
        _build_for.clear()  # the next run tries again
        st.error(f"Could not build the molecule database in {folder}: {build.error}")
        return False
    st.cache_data.clear()  # tables cached before the build described an empty folder
    return True


class _Build:
    """One data build in a background thread, with its progress for the pages to show."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.fraction, self.message = 0.0, "Starting the build"
        self.error: Exception | None = None
        self.done = threading.Event()
        threading.Thread(target=self._run, name="chemnet-data-build", daemon=True).start()

    def _run(self) -> None:
        try:
            counts = dataset.build(data_dir=self.folder, progress=self._report)
            logger.info("built data for the app: %s", counts)
        except Exception as exc:  # shown on the page instead of a traceback
            logger.exception("data build failed")
            self.error = exc
        finally:
            self.done.set()

    def _report(self, fraction: float, message: str) -> None:
        self.fraction, self.message = min(max(float(fraction), 0.0), 1.0), message


@st.cache_resource(show_spinner=False)
def _build_for(folder: str) -> _Build:
    # Cached per folder and process: every session waiting on this folder shares one build.
    return _Build(Path(folder))


def store() -> Store:
    """The compound store of the current data folder, shared by all sessions."""
    return _cached_store(str(data_dir() / "chemnet.sqlite"))


@st.cache_resource(show_spinner=False)
def _cached_store(path: str) -> Store:
    # The store opens one read-only connection per thread, so sharing it is safe.
    return get_store(Path(path))


def molecules() -> pd.DataFrame:
    """The model dataset (one row per molecule), cached until the file changes."""
    path = data_dir() / "molecules.parquet"
    return _read_parquet(str(path), path.stat().st_mtime)


def names() -> pd.DataFrame:
    """The (name, molecule) pairs, cached until the file changes."""
    path = data_dir() / "names.parquet"
    return _read_parquet(str(path), path.stat().st_mtime)


@st.cache_data(show_spinner=False, max_entries=4)
def _read_parquet(path: str, mtime: float) -> pd.DataFrame:
    # mtime is part of the cache key only: a rebuilt file is read again.
    return pd.read_parquet(path)


@st.cache_data(show_spinner=False, max_entries=512)
def structure_png(smiles: str, size: int = 300) -> bytes | None:
    """A 2D drawing of smiles as PNG bytes, or None when RDKit cannot parse it."""
    return chem.draw_png(smiles, size)
