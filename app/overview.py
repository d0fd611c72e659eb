"""The Home page's overview: dataset counts and splits, molecular weights, models and runs."""

from __future__ import annotations

import time

import pandas as pd
import plotly.express as px
import streamlit as st

import common
from chemnet import catalog, runs

SPLITS = ("train", "val", "test")


def render(missing_pages: list[str] | None = None) -> None:
    """Draw the overview; missing_pages are page titles whose files do not exist yet."""
    common.init_page()
    st.title("ChemNet-Vision")
    st.write(
        "Deep learning on molecules: turn a chemical name or a 2D drawing into a structure "
        "(SMILES), train and evaluate the models, and ask about compounds in the chat."
    )
    if missing_pages:
        st.caption("Not built yet: " + ", ".join(missing_pages) + ".")
    if not common.ensure_data():
        st.stop()
    _data_section()
    _models_section()
    _runs_section()


def _data_section() -> None:
    st.header("Data")
    summary = catalog.data_summary(common.data_dir())
    if summary is None:
        st.warning("The data folder has no build manifest; rebuild with `python -m chemnet.data "
                   "build --force`.")
        return
    counts = summary["counts"]
    reference = catalog.REFERENCE_COUNTS
    columns = st.columns(5)
    for column, key, label in zip(columns, ("molecules", "pairs", *SPLITS),
                                  ("Molecules", "Name pairs", "Train", "Validation", "Test")):
        value = counts.get(key)
        column.metric(label, f"{value:,}" if isinstance(value, int) else "n/a",
                      help=f"Reference dataset: {reference[key]:,}")
    note = f"{counts.get('compounds', 0):,} compounds in the store (salts and inorganics too)"
    if summary.get("seconds") is not None:
        note += f"; built in {summary['seconds']:.0f} s"
    if summary.get("limit"):
        note += f"; a partial build limited to {summary['limit']:,} table rows"
    st.caption(note + f". Reference dataset: {reference['molecules']:,} molecules, "
               f"~{reference['pairs']:,} pairs, {reference['train']:,} / {reference['val']:,} / "
               f"{reference['test']:,}.")
    frame = common.molecules()
    if len(frame):
        figure = px.histogram(frame, x="mw", color="split", nbins=60, barmode="stack",
                              category_orders={"split": list(SPLITS)},
                              labels={"mw": "molecular weight (g/mol)", "split": "split"})
        figure.update_layout(height=320, margin=dict(l=10, r=10, t=30, b=10),
                             title="Molecular weight of the model dataset")
        st.plotly_chart(figure)


def _models_section() -> None:
    st.header("Shipped models")
    cards = catalog.model_cards(common.models_dir())
    if not cards:
        st.info("No model card in models/ yet: a trained model is shipped with its card "
                "(see the README).")
        return
    fractions = ("val_accuracy", *catalog.CARD_METRICS)
    columns = {name: st.column_config.NumberColumn(name.replace("_", " "), format="percent")
               for name in fractions}
    columns["training_min"] = st.column_config.NumberColumn("training (min)", format="%.1f")
    st.dataframe(pd.DataFrame(cards), hide_index=True, column_config=columns)


def _runs_section() -> None:
    st.header("Recent training runs")
    infos = runs.list_runs(common.runs_dir())[:10]
    if not infos:
        st.info("No training run yet: start one on the Training page.")
        return
    rows = [{
        "run": info.run_id,
        "task": info.config.get("task"),
        "state": info.state,
        "epoch": info.epoch,
        "step": f"{info.step}/{info.total_steps}" if info.total_steps else info.step,
        "updated": time.strftime("%Y-%m-%d %H:%M", time.localtime(info.updated))
        if info.updated else "",
    } for info in infos]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
