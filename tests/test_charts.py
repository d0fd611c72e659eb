"""Curve helpers: smoothing by hand, x axes by epoch, step and wall time, overlaid traces."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import charts

HISTORY = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [3.0, 2.0, 1.0],
                        "val_loss": [3.5, 2.5, 1.5], "val_accuracy": [0.2, 0.4, 0.6],
                        "learning_rate": [0.01, 0.01, 0.005], "seconds": [10.0, 12.0, 8.0]})
STEPS = pd.DataFrame({"step": [2, 4, 6, 8], "epoch": [1, 1, 2, 2],
                      "train_loss": [3.0, 2.5, 2.0, 1.5], "elapsed_s": [5.0, 9.0, 15.0, 20.0]})


def test_smoothing_is_a_debiased_moving_average():
    out = charts.smooth(pd.Series([1.0, 3.0]), 0.5)
    # Debiased EMA: first value kept, second (0.5*1 + 3) / (0.5 + 1) = 7/3.
    assert out.tolist() == pytest.approx([1.0, 7 / 3])
    raw = pd.Series([1.0, 5.0])
    assert charts.smooth(raw, 0.0) is raw


def test_smoothing_keeps_gaps():
    out = charts.smooth(pd.Series([1.0, float("nan"), 3.0]), 0.5)
    assert math.isnan(out[1]) and out[0] == 1.0


def test_steps_per_epoch_from_status_or_steps():
    assert charts.steps_per_epoch(STEPS, 30, 10) == 3
    assert charts.steps_per_epoch(STEPS, None, None) == 4  # epoch 1 ends at step 4, 2 at 8
    assert charts.steps_per_epoch(STEPS.head(2), None, None) is None


@pytest.mark.parametrize("axis, expected", [
    ("epoch", [1, 2, 3]), ("step", [4, 8, 12]), ("time", [10.0, 22.0, 30.0])])
def test_history_x_axes(axis, expected):
    run = charts.RunCurves("r", HISTORY, STEPS, steps_per_epoch=4)
    assert charts.history_x(run, axis).tolist() == expected


def test_history_time_from_steps_when_no_seconds_column():
    run = charts.RunCurves("r", HISTORY.drop(columns="seconds").head(2), STEPS)
    assert charts.history_x(run, "time").tolist() == [9.0, 20.0]


def test_metric_figure_overlays_runs_with_one_colour_each():
    a = charts.RunCurves("a", HISTORY, STEPS, 4)
    b = charts.RunCurves("b", HISTORY.head(2), STEPS, 4)
    fig = charts.metric_figure([a, b], ["train_loss", "val_loss"], "Loss", "epoch", log_y=True)
    names = [trace.name for trace in fig.data]
    assert names == ["a · train_loss", "a · val_loss", "b · train_loss", "b · val_loss"]
    assert fig.data[0].line.color == fig.data[1].line.color != fig.data[2].line.color
    assert fig.layout.yaxis.type == "log" and len(fig.data[3].y) == 2


def test_step_figure_by_fractional_epoch_with_faint_raw_curve():
    run = charts.RunCurves("a", HISTORY, STEPS, 4)
    fig = charts.step_figure([run], "epoch", smoothing=0.5)
    assert len(fig.data) == 2 and fig.data[0].opacity == 0.25
    assert list(fig.data[1].x) == [0.5, 1.0, 1.5, 2.0]
    assert charts.step_figure([charts.RunCurves("empty")], "step").data == ()


def test_a_reference_curve_does_not_shift_run_colours():
    run = charts.RunCurves("a", HISTORY, STEPS, 4)
    ref = charts.RunCurves("ref", HISTORY, dash="dot", color="#9e9e9e")
    alone = charts.metric_figure([run], ["train_loss"], "Loss")
    both = charts.metric_figure([ref, run], ["train_loss"], "Loss")
    assert both.data[0].line.color == "#9e9e9e" and both.data[0].line.dash == "dot"
    assert both.data[1].line.color == alone.data[0].line.color
