"""Evaluation page: pick a checkpoint and a split, see how well the model does and where it fails."""

from pathlib import Path

import streamlit as st

from chemnet import paths

st.title("Evaluation")


def _checkpoints() -> list[Path]:
    shipped = sorted(paths.MODELS_DIR.glob("*.pth"))
    runs = sorted(paths.RUNS_DIR.glob("*/best.pth"))
    return shipped + runs


found = _checkpoints()
if not found:
    st.info("No checkpoint yet: train a model on the Training page, or ship one to models/.")
    st.stop()
choice = st.selectbox("Checkpoint", found, format_func=lambda p: str(p.relative_to(paths.ROOT)))
st.caption(f"Selected {choice.name}; the full evaluation view is on its way.")
