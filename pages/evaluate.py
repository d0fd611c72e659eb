"""Evaluation page: how well a checkpoint does on a split, and where it fails."""

import streamlit as st

import common
import eval_views as views

common.init_page()
st.title("Evaluation")

options = views.checkpoint_options()
if not options:
    st.info("No checkpoint yet: train a model on the Training page, or ship one to models/.")
    st.stop()
if not common.ensure_data():
    st.stop()

left, mid, right = st.columns([3, 1, 1])
path = left.selectbox("Checkpoint", options, format_func=views.checkpoint_label, key="eval_ckpt")
split = mid.selectbox("Split", ["test", "val", "train"], key="eval_split")
limit = int(right.number_input("Sample size", 10, 100_000, 500, step=100, key="eval_limit"))

result = views.cached(path, split, limit)
b1, b2 = st.columns(2)
if b1.button(f"Evaluate {limit} examples", disabled=result is not None):
    result = views.run(path, split, limit)
if b2.button("Evaluate the whole split (slow on CPU)"):
    result = views.run(path, split, None)
if result is None:
    st.info(f"{views.relative(path)} has no cached {split} evaluation yet: press Evaluate.")
    st.stop()

views.headline(result)
tabs = st.tabs(
    ["Breakdown", "Confusion matrix", "Per-token F1", "Errors", "Auto-mode routing", "Compare"]
)
with tabs[0]:
    views.breakdowns(result)
with tabs[1]:
    c1, c2 = st.columns(2)
    top_n = c1.slider("Top-N tokens (by support)", 5, 60, 25, key="eval_top_n")
    norm = c2.radio("Values", ["raw counts", "row-normalised"], horizontal=True) != "raw counts"
    st.plotly_chart(views.confusion_figure(result, top_n, norm), key="eval_heatmap")
with tabs[2]:
    st.dataframe(
        views.per_token_frame(result),
        hide_index=True,
        width="stretch",
        column_config=views.TOKEN_COLUMNS,
    )
with tabs[3]:
    shown = st.slider("Errors shown", 1, 30, 8, key="eval_errors")
    views.error_gallery(result, shown)
with tabs[4]:
    views.routing_panel(result)
with tabs[5]:
    others = st.multiselect(
        "Compare with",
        [p for p in options if p != path],
        format_func=views.checkpoint_label,
        key="eval_compare",
    )
    results = {views.checkpoint_label(path): result}
    for other in others:
        found = views.cached(other, split, limit)
        if found is None:
            st.caption(f"{views.checkpoint_label(other)}: no cached {split} evaluation yet.")
            if st.button(f"Evaluate {views.checkpoint_label(other)}", key=f"cmp_{other}"):
                found = views.run(other, split, limit)
        if found is not None:
            results[views.checkpoint_label(other)] = found
    st.dataframe(views.comparison(results), width="stretch")
