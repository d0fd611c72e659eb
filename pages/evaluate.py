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
    views.panel(views.breakdowns, result)
with tabs[1]:
    views.panel(views.confusion_panel, result)
with tabs[2]:
    views.panel(views.per_token_panel, result)
with tabs[3]:
    views.panel(views.error_gallery, result)
with tabs[4]:
    views.panel(views.routing_panel, result)
with tabs[5]:
    views.panel(views.compare_panel, result, path, options, split, limit)
