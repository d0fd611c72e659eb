"""Plotly training curves: smoothing, log scale, x by epoch, step or wall time, several runs."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

X_AXES = {"epoch": "epoch", "step": "step", "time": "wall time (s)"}
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2")


@dataclass
class RunCurves:
    """What one run contributes to the charts: its history, its steps and a label."""

    label: str
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    steps: pd.DataFrame = field(default_factory=pd.DataFrame)
    steps_per_epoch: float | None = None
    dash: str = "solid"
    color: str | None = None  # None: the next colour of the palette


def smooth(values: pd.Series, weight: float) -> pd.Series:
    """Exponential moving average with bias correction (TensorBoard's smoothing).

    Args:
        values: the raw series; NaNs are carried through untouched.
        weight: 0 keeps the raw values, 0.99 smooths heavily.
    """
    if weight <= 0 or values.empty:
        return values
    weight = min(float(weight), 0.999)
    ema = values.ewm(alpha=1.0 - weight, adjust=True, ignore_na=True).mean()
    return ema.where(values.notna())


def steps_per_epoch(
    steps: pd.DataFrame, total_steps: int | None, epochs: int | None
) -> float | None:
    """Optimizer steps in one epoch, from the run's status or else from steps.csv."""
    if total_steps and epochs:
        return total_steps / epochs
    if {"step", "epoch"} <= set(steps.columns) and steps["epoch"].nunique() > 1:
        last = steps.groupby("epoch")["step"].max()
        return float(last.diff().dropna().median())
    return None


def history_x(run: RunCurves, x: str) -> pd.Series | None:
    """x values of the history rows (one per epoch) for the chosen axis; None if unknown."""
    hist = run.history
    if x == "epoch" or "epoch" not in hist.columns:
        return hist.get("epoch")
    if x == "step":
        if "step" in hist.columns:
            return hist["step"]
        return hist["epoch"] * run.steps_per_epoch if run.steps_per_epoch else None
    if "elapsed_s" in hist.columns:
        return hist["elapsed_s"]
    if "seconds" in hist.columns:
        return hist["seconds"].fillna(0).cumsum()
    return _epoch_end_times(run)


def _epoch_end_times(run: RunCurves) -> pd.Series | None:
    steps = run.steps
    if not {"epoch", "elapsed_s"} <= set(steps.columns):
        return None
    ends = steps.groupby("epoch")["elapsed_s"].max()
    return run.history["epoch"].map(ends)


def steps_x(run: RunCurves, x: str) -> pd.Series | None:
    """x values of the step rows for the chosen axis (fractional epochs for 'epoch')."""
    steps = run.steps
    if x == "time":
        return steps.get("elapsed_s")
    if x == "epoch" and run.steps_per_epoch:
        return steps["step"] / run.steps_per_epoch
    return steps.get("step")


def _colors(runs: list[RunCurves]) -> list[str]:
    # Runs without a fixed colour take the palette in order, so a run keeps its colour on
    # every chart whether or not a reference curve is drawn there too.
    out, n = [], 0
    for run in runs:
        out.append(run.color or PALETTE[n % len(PALETTE)])
        n += run.color is None
    return out


def _trace(x, y, name: str, color: str, dash: str, mode: str = "lines+markers") -> go.Scatter:
    return go.Scatter(x=x, y=y, name=name, mode=mode, line={"color": color, "dash": dash})


def metric_figure(
    runs: list[RunCurves],
    columns: list[str],
    title: str,
    x: str = "epoch",
    smoothing: float = 0.0,
    log_y: bool = False,
) -> go.Figure:
    """One chart of history columns (e.g. train and val loss) for every run, overlaid.

    Each run gets a colour; each column a dash style, so two runs of two curves stay readable.
    """
    fig = go.Figure()
    dashes = ("solid", "dot", "dash", "dashdot")
    for run, color in zip(runs, _colors(runs)):
        xs = history_x(run, x)
        if xs is None or run.history.empty:
            continue
        for j, column in enumerate(columns):
            if column not in run.history.columns:
                continue
            ys = smooth(run.history[column], smoothing)
            dash = run.dash if run.dash != "solid" else dashes[j % len(dashes)]
            fig.add_trace(_trace(xs, ys, f"{run.label} · {column}", color, dash))
    return _layout(fig, title, X_AXES.get(x, x), log_y)


def step_figure(
    runs: list[RunCurves], x: str = "step", smoothing: float = 0.6, log_y: bool = False
) -> go.Figure:
    """Step-level training loss, so a curve moves within an epoch; raw points faint underneath."""
    fig = go.Figure()
    for run, color in zip(runs, _colors(runs)):
        if run.steps.empty or "train_loss" not in run.steps.columns:
            continue
        xs = steps_x(run, x)
        if xs is None:
            continue
        raw = run.steps["train_loss"]
        if smoothing > 0:
            faint = _trace(xs, raw, f"{run.label} · raw", color, "solid", mode="lines")
            faint.update(opacity=0.25, showlegend=False)
            fig.add_trace(faint)
        fig.add_trace(_trace(xs, smooth(raw, smoothing), run.label, color, "solid", "lines"))
    return _layout(fig, "Training loss by step", X_AXES.get(x, x), log_y)


def _layout(fig: go.Figure, title: str, x_title: str, log_y: bool) -> go.Figure:
    fig.update_layout(
        title=title,
        height=320,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.25},
        uirevision="keep",  # keeps zoom and hidden traces across the 2-second refreshes
    )
    fig.update_xaxes(title=x_title)
    fig.update_yaxes(type="log" if log_y else "linear")
    return fig
