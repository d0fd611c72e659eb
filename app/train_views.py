"""Streamlit pieces of the Training page: launch form, live run panel, comparison."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

import charts
from chemnet import launcher, runs

REFRESH_S = 2.0
REFERENCE_HISTORY = "training_history.csv"


@st.cache_data(ttl=60, show_spinner=False)
def trainer_tasks() -> dict[str, list[str]]:
    """Registered tasks and their variants (re-read every minute, so a new task shows up)."""
    return launcher.trainer_tasks()


@st.cache_data(show_spinner=False)
def devices() -> dict[str, str]:
    """Devices torch sees on this machine, with a description."""
    return launcher.available_devices()


def launch_form(root: Path) -> None:
    """The new-run form; hyperparameters start at the chosen task's reference defaults."""
    tasks = trainer_tasks()
    if not tasks:
        st.error("The trainer (chemnet.train and chemnet/tasks/) is not available.")
        return
    task = st.selectbox("Task", list(tasks), key="train_task")
    ref = launcher.REFERENCE_DEFAULTS.get(task, launcher.REFERENCE_DEFAULTS["name"])
    found = devices()
    with st.form(f"launch_{task}"):
        left, mid, right = st.columns(3)
        variant = left.selectbox("Model variant", tasks[task] or [None], key=f"{task}_variant")
        epochs = mid.number_input("Epochs", 1, 1000, ref["epochs"], key=f"{task}_epochs")
        batch = right.number_input("Batch size", 1, 8192, ref["batch_size"], key=f"{task}_batch")
        lr = left.number_input("Learning rate", 1e-6, 1.0, ref["lr"], step=1e-4, format="%.5f",
                              key=f"{task}_lr")
        device = mid.selectbox("Device", list(found), format_func=lambda d: f"{d}: {found[d]}",
                               key=f"{task}_device")
        limit = right.number_input("Data limit, pairs (0 = all)", 0, 10**7, 0, step=100,
                                   key=f"{task}_limit")
        minutes = left.number_input("Time budget, minutes (0 = none)", 0.0, 1e5, 0.0,
                                   key=f"{task}_minutes")
        run_id = mid.text_input("Run id (optional)", placeholder="e.g. name-demo",
                               key=f"{task}_run_id")
        from_shipped = right.checkbox(
            "Start from the shipped model", key=f"{task}_from_shipped",
            help="Fine-tune the shipped checkpoint (its architecture replaces the variant "
                 "chosen here) instead of starting from random weights.")
        st.caption(f"Reference schedule for {task}: Adam, {ref['scheduler']}.")
        submitted = st.form_submit_button("Start training", type="primary")
    if submitted:
        limit = int(limit) or None
        params = launcher.RunParams(task, variant, int(epochs), int(batch), float(lr), device,
                                    limit, float(minutes) or None, val_limit=limit,
                                    log_every=_log_every(limit, int(batch)),
                                    from_shipped=from_shipped)
        try:
            info = launcher.launch(params, run_id.strip() or None, runs_dir=root)
        except runs.RunError as exc:
            st.error(str(exc))
            return
        st.session_state["train_selected"] = [info.run_id]
        st.success(f"Started {info.run_id} (pid {info.pid}).")


def _log_every(limit: int | None, batch: int) -> int | None:
    # A quick demo has few steps per epoch: log most of them so the step curve moves at once.
    if limit is None:
        return None
    return max(1, min(10, limit // batch // 10))


def runs_table(infos: list[runs.RunInfo]) -> None:
    """One row per run with its state and main settings."""
    rows = [{
        "run": i.run_id, "state": i.state, "task": i.config.get("task"),
        "variant": i.config.get("variant"), "epoch": i.epoch,
        "epochs": i.config.get("epochs"), "message": i.message.split("\n")[0][:120],
    } for i in infos]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="train_runs_table")


def _curves(info: runs.RunInfo, root: Path) -> charts.RunCurves:
    steps = runs.read_steps(info.run_id, root)
    per_epoch = charts.steps_per_epoch(steps, info.total_steps, info.config.get("epochs"))
    return charts.RunCurves(info.run_id, runs.read_history(info.run_id, root), steps, per_epoch)


def reference_curves(root: Path) -> charts.RunCurves | None:
    """The shipped model's history (results/training_history.csv) as a dotted reference."""
    path = root.parent / REFERENCE_HISTORY  # root is results/runs
    history = runs.read_csv(path)
    if history.empty:
        return None
    return charts.RunCurves("shipped model", history, dash="dot", color="#9e9e9e")


def _progress_text(p: runs.Progress, state: str) -> str:
    parts = [state, f"{p.epoch}" + (f"/{p.epochs}" if p.epochs else "") + " epochs done"]
    if p.total_steps:
        parts.append(f"step {p.step}/{p.total_steps}")
    if p.samples_per_s:
        parts.append(f"{p.samples_per_s:,.0f} samples/s")
    if p.eta_s is not None:
        parts.append(f"ETA {p.eta_s / 60:.1f} min" if p.eta_s >= 90 else f"ETA {p.eta_s:.0f} s")
    return " · ".join(parts)


def _controls(info: runs.RunInfo, root: Path, button, more) -> None:
    key = info.run_id
    try:
        if info.active:
            if button.button("Stop", key=f"stop_{key}"):
                launcher.stop(info.run_id, root)
                st.toast(f"Stopping {info.run_id}: it saves last.pth first.")
            return
        if not (info.path / "last.pth").is_file():
            return
        epochs = None
        if info.state == "finished":  # only more epochs make sense after a finished run
            extra = more.number_input("More epochs", 1, 1000, 5, key=f"more_{key}")
            epochs = (info.epoch or 0) + int(extra)
        if button.button("Resume", key=f"resume_{key}"):
            launcher.resume(info.run_id, root, epochs=epochs)
            st.rerun(scope="app")
    except runs.RunError as exc:
        st.error(str(exc))


def run_status(info: runs.RunInfo, root: Path) -> None:
    """Progress bar, controls, message, log tail and history download of one run."""
    prog = runs.progress(info, root)
    st.progress(prog.fraction, text=f"**{info.run_id}** · {_progress_text(prog, info.state)}")
    history = runs.read_history(info.run_id, root)
    button, more, download, note = st.columns([1, 2, 2, 3], vertical_alignment="bottom")
    _controls(info, root, button, more)
    download.download_button("Download history.csv", history.to_csv(index=False),
                             f"{info.run_id}-history.csv", "text/csv", key=f"dl_{info.run_id}")
    note.caption(f"{len(history)} epoch(s) in history.csv")
    if info.state == "failed":
        st.error(info.message or "the run failed")
    with st.expander(f"History and log of {info.run_id}"):
        st.dataframe(history, hide_index=True)
        st.code(runs.log_tail(info.run_id, runs_dir=root) or "(the log is empty)", language=None)


def curves(infos: list[runs.RunInfo], root: Path, x: str, smoothing: float, log_y: bool) -> None:
    """Loss, accuracy, learning rate and step-level loss of the runs, overlaid."""
    data = [_curves(info, root) for info in infos]
    reference = reference_curves(root) if x == "epoch" else None
    with_ref = [reference] + data if reference else data  # drawn first, so underneath
    left, right = st.columns(2)
    left.plotly_chart(charts.metric_figure(with_ref, ["train_loss", "val_loss"], "Loss", x,
                                           smoothing, log_y), key="chart_loss")
    right.plotly_chart(charts.metric_figure(with_ref, ["val_accuracy"], "Validation accuracy",
                                            x, smoothing), key="chart_acc")
    left.plotly_chart(charts.step_figure(data, "epoch" if x == "epoch" else x, smoothing,
                                         log_y), key="chart_steps")
    lr = charts.metric_figure(data, ["learning_rate"], "Learning rate", x, log_y=True)
    right.plotly_chart(lr.update_yaxes(tickformat=".0e"), key="chart_lr")


def compare(infos: list[runs.RunInfo]) -> None:
    """Hyperparameters of several runs side by side, differing rows first."""
    table = runs.compare_configs(infos)
    if not table.empty:
        st.dataframe(table, key="train_compare")
