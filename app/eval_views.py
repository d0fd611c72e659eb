"""Widgets of the Evaluation page: checkpoint choice, headline figures, heatmap, tables, gallery."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import common
from chemnet import chem, evaluate, metrics, paths, routing
from chemnet.calibrate import DEFAULT_THRESHOLD, load_threshold

logger = logging.getLogger(__name__)

# The reference baseline the project is measured against (teacher-forced, see chemnet.metrics).
REFERENCE = {"token_accuracy": 0.72, "macro_f1": 0.68}
TOKEN_COLUMNS = {
    "precision": st.column_config.NumberColumn(format="%.3f"),
    "recall": st.column_config.NumberColumn(format="%.3f"),
    "f1": st.column_config.NumberColumn("F1", format="%.3f"),
}
LABELS = {
    "token_accuracy": "Token accuracy",
    "macro_f1": "Macro F1",
    "weighted_f1": "Weighted F1",
    "free_running_accuracy": "Free-running acc.",
    "exact_match": "Exact match",
    "validity": "Valid SMILES",
    "tanimoto": "Mean Tanimoto",
}


def eval_dir() -> Path:
    """results/eval/ as the environment says now (tests point it elsewhere)."""
    return common.runs_dir().parent / "eval"


def checkpoint_options() -> list[Path]:
    """Shipped checkpoints first, then the best checkpoint of each training run."""
    shipped = sorted(common.models_dir().glob("*.pth"))
    runs = sorted(common.runs_dir().glob("*/best.pth"), key=lambda p: p.stat().st_mtime)
    return shipped + runs[::-1]


def checkpoint_label(path: Path) -> str:
    if path.name == "best.pth":
        return f"run {path.parent.name}"
    return f"shipped {path.name}"


def cached(path: Path, split: str, limit: int) -> dict | None:
    """The whole-split result when it exists, else the sampled one, else None."""
    for count in (None, limit):
        file = evaluate.cache_path(path, split, count, 1, eval_dir())
        if file.exists():
            return _read_result(str(file), file.stat().st_mtime_ns)
    return None


# A whole-split result holds tens of thousands of records: parse it once per file version,
# and share it read-only (cache_resource does not copy it on every rerun as cache_data would).
@st.cache_resource(max_entries=6, show_spinner="Reading the cached evaluation")
def _read_result(file: str, mtime_ns: int) -> dict:
    return json.loads(Path(file).read_text())


@st.cache_resource(max_entries=4, show_spinner="Looking every input up in the store")
def _store_matches(key: str, _records: list[dict]) -> list:
    """Store matches of a result's inputs, keyed by the result (lookups take a while)."""
    return routing.store_matches(_records, common.store().lookup)


def run(path: Path, split: str, limit: int | None) -> dict | None:
    """Evaluate with a progress bar; shows the error and returns None when it fails."""
    bar = st.progress(0.0, text="Loading the model")
    try:
        result = evaluate.evaluate_checkpoint(
            path,
            split,
            limit,
            data_dir=common.data_dir(),
            cache_dir=eval_dir(),
            progress=lambda f, msg: bar.progress(min(f, 1.0), text=msg),
        )
    except Exception as exc:  # the page explains instead of showing a traceback
        logger.exception("evaluation of %s failed", path)
        st.error(f"Evaluation failed: {exc}")
        return None
    finally:
        bar.empty()
    return result


def panel(render, *args) -> None:
    """Run one tab's renderer; a failure shows a message there and leaves the other tabs be."""
    try:
        render(*args)
    except Exception as exc:  # e.g. another module mid-change; the page must stay usable
        logger.exception("evaluation panel %s failed", render.__name__)
        st.error(f"This panel could not be shown: {exc.__class__.__name__}: {exc}")


def headline(result: dict) -> None:
    """Headline figures as metrics, the first two against the reference baseline."""
    columns = st.columns(len(LABELS))
    for column, (key, label) in zip(columns, LABELS.items()):
        value = result.get(key, 0.0)
        fmt = ".3f" if key.endswith("f1") else ".1%"  # F1 reads as a score, the rest as rates
        delta = f"{value - REFERENCE[key]:+{fmt}} vs ref." if key in REFERENCE else None
        column.metric(label, f"{value:{fmt}}", delta)
    scope = "whole split" if result.get("limit") is None else f"random sample of {result['n']}"
    st.caption(
        f"{result['task']} model, {result['split']} split ({scope}, {result['tokens']} tokens), "
        f"{result.get('seconds', 0):.0f} s. Reference baseline: token accuracy 72%, macro F1 "
        "0.68 (teacher-forced next token). Free-running compares the greedy decode position "
        "by position; exact match compares InChIKeys."
    )


def breakdowns(result: dict) -> None:
    """Exact match per name kind (or renderer) and per target length."""
    groups = result.get("by_kind") or result.get("by_renderer") or {}
    left, right = st.columns(2)
    left.markdown("**By name kind**" if "by_kind" in result else "**By drawing style**")
    left.dataframe(pd.DataFrame(groups).T, width="stretch")
    right.markdown("**Exact match by target length (SMILES tokens)**")
    by_length = pd.DataFrame(result["by_length"]).rename(columns={"accuracy": "exact match"})
    right.dataframe(by_length, width="stretch", hide_index=True)
    hist = result["tanimoto_histogram"]
    centres = (np.asarray(hist["edges"][:-1]) + np.asarray(hist["edges"][1:])) / 2
    fig = go.Figure(go.Bar(x=centres, y=hist["counts"], width=0.09))
    fig.update_layout(
        title="Tanimoto similarity of prediction to truth",
        height=280,
        xaxis_title="Tanimoto",
        yaxis_title="examples",
        margin={"t": 40, "b": 30},
    )
    st.plotly_chart(fig)


def confusion_panel(result: dict) -> None:
    c1, c2, c3 = st.columns([2, 2, 1])
    top_n = c1.slider("Top-N tokens (by support)", 5, 60, 25, key="eval_top_n")
    values = c2.radio("Values", ["raw counts", "row-normalised"], horizontal=True, key="eval_norm")
    # The diagonal dwarfs the confusions; hiding it lets the colour scale show the mistakes.
    hide = c3.toggle("Hide correct", key="eval_hide_diag")
    figure = confusion_figure(result, top_n, values != "raw counts", hide_diagonal=hide)
    st.plotly_chart(figure, key="eval_heatmap")


def per_token_panel(result: dict) -> None:
    st.caption("Teacher-forced next-token scores per SMILES token; click a header to sort.")
    st.dataframe(
        per_token_frame(result), hide_index=True, width="stretch", column_config=TOKEN_COLUMNS
    )


def confusion_figure(
    result: dict, top_n: int, normalise: bool, hide_diagonal: bool = False
) -> go.Figure:
    """Heatmap of the top-N tokens; hover shows the raw count whatever the colouring."""
    matrix = np.asarray(result["confusion"]["matrix"])
    labels = result["confusion"]["labels"]
    shown, names = metrics.top_confusion(matrix, labels, top_n, normalise=normalise)
    counts, _ = metrics.top_confusion(matrix, labels, top_n)
    if hide_diagonal:
        np.fill_diagonal(shown, np.nan)  # drawn blank; hover still gives the count
    # Plain lists, not arrays: the chart spec then stays readable JSON (NaN becomes null).
    fig = go.Figure(
        go.Heatmap(
            z=shown.tolist(),
            x=names,
            y=names,
            customdata=counts.tolist(),
            colorscale="Blues",
            hovertemplate="true %{y} → predicted %{x}<br>count %{customdata:.0f}"
            "<br>value %{z:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis_title="predicted token",
        yaxis_title="true token",
        height=620,
        yaxis_autorange="reversed",
        margin={"t": 20},
    )
    return fig


def per_token_frame(result: dict) -> pd.DataFrame:
    return pd.DataFrame(
        result["per_token"], columns=["token", "precision", "recall", "f1", "support"]
    )


def error_gallery(result: dict) -> None:
    """Input, true and predicted structures side by side, the most confident mistakes first."""
    groups = sorted({r["group"] for r in result["records"]})
    c1, c2, c3 = st.columns(3)
    group = c1.selectbox(
        "Name kind" if result["task"] == "name" else "Drawing style",
        ["all", *groups],
        key="eval_err_group",
    )
    kind = c2.selectbox("Error", evaluate.ERROR_KINDS, key="eval_err_kind")
    count = c3.slider("Errors shown", 1, 30, 8, key="eval_errors")
    errors = evaluate.pick_errors(result["records"], None if group == "all" else group, kind, count)
    if not errors:
        st.success("No such errors in this evaluation.")
        return
    for error in errors:
        cols = st.columns([2, 2, 2])
        _show_input(cols[0], error, result["task"])
        cols[1].image(chem.draw_png(error["true_smiles"], 220), caption="true structure")
        cols[1].code(error["true_smiles"], language=None)
        png = chem.draw_png(error["predicted_smiles"], 220) if error["valid"] else None
        if png:
            cols[2].image(png, caption=f"predicted (conf. {error['confidence']:.2f})")
        else:
            cols[2].warning("invalid SMILES: nothing to draw")
        cols[2].code(error["predicted_smiles"] or "(empty)", language=None)
        cols[2].caption(f"Tanimoto to truth {error.get('tanimoto', 0.0):.2f}")
        st.divider()


def _show_input(column, error: dict, task: str) -> None:
    if task == "image" and error.get("render_seed") is not None:
        from chemnet import eval_data

        image = eval_data.drawing(error["true_smiles"], error["group"], error["render_seed"])
        column.image(image, caption=f"input drawing ({error['group']})")
    else:
        column.markdown(f"**{error['input']}**")
        column.caption(f"name kind: {error['group']}")


def routing_panel(result: dict) -> None:
    """The 2x2 table of auto mode's acceptance rule against correctness, at a chosen threshold."""
    calibrated = load_threshold(result["checkpoint"])
    note = f"calibrated threshold {calibrated:.2f}" if calibrated is not None else "not calibrated"
    start = calibrated if calibrated is not None else DEFAULT_THRESHOLD
    threshold = st.slider(f"Confidence threshold ({note})", 0.0, 1.0, start, 0.01, key="eval_thr")
    use_store = result["task"] == "name" and st.toggle(
        "Check the model against the store, as auto mode does",
        value=True,
        key="eval_use_store",
        help="Off: the confidence threshold alone, as for a name the store does not know.",
    )
    matches = None
    if use_store:
        key = "|".join(
            str(result.get(k)) for k in ("checkpoint_sha256", "split", "limit", "beam", "created")
        )
        matches = _store_matches(key, result["records"])
    routed = routing.route(result["records"], threshold, matches)
    table = routing.routing_matrix(routed)
    counts = pd.DataFrame(table["counts"]).T.rename(columns=str.capitalize)
    counts.index = ["model answer accepted", "sent to the store"]
    st.dataframe(counts, width="stretch")
    cols = st.columns(3)
    cols[0].metric("Accepted answers that are right", f"{table['precision']:.1%}")
    cols[1].metric("Right answers accepted", f"{table['recall']:.1%}")
    cols[2].metric("Routed the right way", f"{table['routing_accuracy']:.1%}")
    st.caption(
        "Reasons given by the rule: "
        + ", ".join(f"{reason} ({n})" for reason, n in table["reasons"].items())
    )


def compare_panel(result: dict, path: Path, options: list[Path], split: str, limit: int) -> None:
    """This checkpoint's figures next to those of the checkpoints the user picks."""
    others = st.multiselect(
        "Compare with",
        [p for p in options if p != path],
        format_func=checkpoint_label,
        key="eval_compare",
    )
    results = {checkpoint_label(path): result}
    for other in others:
        found = cached(other, split, limit)
        if found is None:
            st.caption(f"{checkpoint_label(other)}: no cached {split} evaluation yet.")
            if st.button(f"Evaluate {checkpoint_label(other)}", key=f"cmp_{other}"):
                found = run(other, split, limit)
        if found is not None:
            results[checkpoint_label(other)] = found
    st.dataframe(comparison(results), width="stretch")


def comparison(results: dict[str, dict]) -> pd.DataFrame:
    """Headline figures and exact match per group, one column per checkpoint."""
    return pd.DataFrame({label: _column(r) for label, r in results.items()})


def _column(result: dict) -> dict:
    column = {LABELS[k]: result.get(k) for k in LABELS}
    groups = result.get("by_kind") or result.get("by_renderer") or {}
    column |= {f"Exact match, {g}": figures["exact_match"] for g, figures in groups.items()}
    return column | {"Examples": result["n"]}


def relative(path: Path) -> str:
    try:
        return str(path.relative_to(paths.ROOT))
    except ValueError:
        return str(path)
