"""Training page: launch runs in the background, watch them learn live, stop, resume, compare."""

import streamlit as st

import charts
import common
import train_views as views
from chemnet import launcher, runs

common.init_page()
st.title("Training")
root = common.runs_dir()

with st.expander("Start a new run", expanded=not runs.list_runs(root)):
    views.launch_form(root)

infos = runs.list_runs(root)
if not infos:
    st.info("No training runs yet: start one above.")
    st.stop()
views.runs_table(infos)

ids = [info.run_id for info in infos]
chosen = [run_id for run_id in st.session_state.get("train_selected", []) if run_id in ids]
st.session_state["train_selected"] = chosen or ids[:1]
selected = st.multiselect("Runs to show (several overlay their curves)", ids,
                          key="train_selected")
left, mid, right = st.columns(3)
x = left.radio("x axis", list(charts.X_AXES), horizontal=True, key="train_x")
smoothing = mid.slider("Smoothing", 0.0, 0.95, 0.0, 0.05, key="train_smoothing")
log_y = right.toggle("Log-scale loss", key="train_log")


def panel() -> None:
    """Everything that changes while a run trains; reruns alone every few seconds."""
    fresh = [runs.read_run(run_id, root) for run_id in selected if (root / run_id).is_dir()]
    for info in fresh:
        views.run_status(info, root)
    if fresh:
        views.curves(fresh, root, x, smoothing, log_y)
    if len(fresh) > 1:
        st.subheader("Hyperparameters")
        views.compare(fresh)
    if live and not any(info.active for info in fresh):
        st.rerun(scope="app")  # the runs ended: redraw once without the timer


live = any(info.active for info in infos if info.run_id in selected)
st.fragment(panel, run_every=views.REFRESH_S if live else None)()

with st.expander("Delete a run"):
    victim = st.selectbox("Run", [i.run_id for i in infos if not i.active], key="train_delete")
    sure = st.checkbox("Yes, delete its folder with checkpoints and history")
    if st.button("Delete", disabled=not (victim and sure)):
        try:
            launcher.delete(victim, root)
            st.rerun()
        except runs.RunError as exc:
            st.error(str(exc))
