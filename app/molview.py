"""Streamlit widgets for molecules: the 2D drawing and an interactive 3D py3Dmol view.

The 3D view loads 3Dmol.js from the app itself (app/static/, fetched by `python -m
chemnet.assets`) when the file is there, so a classroom without internet still gets 3D;
otherwise it falls back to the CDN.
"""

from __future__ import annotations

import py3Dmol
import streamlit as st
import streamlit.components.v1 as components

from chemnet import chem
from chemnet.assets import THREEDMOL_CDN, THREEDMOL_JS

LOCAL_JS_URL = "/app/static/3Dmol-min.js"
STYLES = {
    "stick": {"stick": {"radius": 0.18}},
    "sphere": {"sphere": {"scale": 0.9}},
    "line": {"line": {"linewidth": 2}},
    "ball and stick": {"stick": {"radius": 0.14}, "sphere": {"scale": 0.28}},
}


def threedmol_js_url() -> str:
    """The app-served copy of 3Dmol.js when present, else the CDN."""
    return LOCAL_JS_URL if THREEDMOL_JS.exists() else THREEDMOL_CDN


@st.cache_data(max_entries=512, show_spinner=False)
def molblock(smiles: str) -> str | None:
    """A force-field optimised 3D conformer as a MOL block, cached per SMILES."""
    return chem.conformer_molblock(smiles)


@st.cache_data(max_entries=512, show_spinner=False)
def png(smiles: str, size: int = 320) -> bytes | None:
    """A 2D depiction as PNG bytes, cached per SMILES and size."""
    return chem.draw_png(smiles, size)


def view_html(block: str, style: str = "stick", width: int = 420, height: int = 360) -> str:
    """The HTML of a py3Dmol viewer showing one MOL block in the chosen style."""
    view = py3Dmol.view(width=width, height=height, js=threedmol_js_url())
    view.addModel(block, "mol")
    view.setStyle(STYLES.get(style, STYLES["stick"]))
    view.setBackgroundColor("white")
    view.zoomTo()
    return view._make_html()  # the public show() writes to IPython, which Streamlit lacks


def show_2d(smiles: str, caption: str | None = None, size: int = 320) -> None:
    """Draw the 2D structure, or say why there is none."""
    data = png(smiles, size)
    if data is None:
        st.warning("No 2D drawing: RDKit cannot parse this structure.")
        return
    st.image(data, caption=caption, width=size)


def style_picker(key: str = "mol_style") -> str:
    """A horizontal style switch for the 3D view; returns the chosen style name."""
    return st.radio("3D style", list(STYLES), horizontal=True, key=key)


def show_3d(smiles: str, style: str = "stick", width: int = 420, height: int = 360) -> None:
    """Show a rotatable 3D view of an RDKit conformer, or say why there is none."""
    block = molblock(smiles)
    if block is None:
        st.info("No 3D view: RDKit could not build a conformer for this structure.")
        return
    components.html(view_html(block, style, width, height), width=width + 10, height=height + 10)


def download_buttons(smiles: str, stem: str, key: str) -> None:
    """Buttons to download the structure as MOL/SDF (3D when available) and PNG."""
    block = molblock(smiles)
    cols = st.columns(3)
    if block is not None:
        cols[0].download_button("MOL", block, f"{stem}.mol", "chemical/x-mdl-molfile",
                                key=f"{key}_mol")
        sdf = block.rstrip("\n") + "\n$$$$\n"  # one SD record: the MOL block, then $$$$
        cols[1].download_button("SDF", sdf, f"{stem}.sdf", "chemical/x-mdl-sdfile",
                                key=f"{key}_sdf")
    data = png(smiles)
    if data is not None:
        cols[2].download_button("PNG", data, f"{stem}.png", "image/png", key=f"{key}_png")
