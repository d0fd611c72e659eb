"""Dataset explorer: search the model dataset, then see one molecule's names, descriptors and 2D."""

import pandas as pd
import streamlit as st

import common
from chemnet import chem, explore

DESCRIPTORS = {
    "logp": "logP",
    "tpsa": "TPSA (Å²)",
    "hbd": "H-bond donors",
    "hba": "H-bond acceptors",
    "rotatable_bonds": "rotatable bonds",
    "rings": "rings",
    "heavy_atoms": "heavy atoms",
}

common.init_page()
st.title("Dataset explorer")
if not common.ensure_data():
    st.stop()
molecules, names = common.molecules(), common.names()
if molecules.empty:
    st.warning(
        "The model dataset is empty; rebuild it with `python -m chemnet.data build --force`."
    )
    st.stop()

# Filters: any name (common, IUPAC, synonym) or formula, a weight range and the splits.
low, high = float(molecules["mw"].min()), float(molecules["mw"].max())
search, weights, splits = st.columns([3, 3, 2])
text = search.text_input(
    "Name, formula or InChIKey",
    key="explore_text",
    placeholder="e.g. caffeine, benzoic acid, C8H10N4O2",
)
mw_range = weights.slider("Molecular weight (g/mol)", low, high, (low, high), key="explore_mw")
chosen = splits.multiselect(
    "Splits", explore.SPLITS, default=list(explore.SPLITS), key="explore_splits"
)

found = explore.search_molecules(molecules, names, text, *mw_range, splits=chosen, limit=500)
st.caption(f"{len(found):,} molecules shown (at most 500) of {len(molecules):,} in the dataset.")
if found.empty:
    st.info("No molecule matches; try part of a name, or widen the weight range and splits.")
    st.stop()
st.dataframe(
    found.drop(columns=["inchikey"]),
    hide_index=True,
    height=260 if len(found) > 6 else "auto",
    column_config={"mw": st.column_config.NumberColumn("MW", format="%.2f")},
)

# One molecule in detail; the choice survives reruns while it stays among the results.
keys = found["inchikey"].tolist()
labels = dict(zip(keys, found["name"] + "  ·  " + found["formula"]))
previous = st.session_state.selected_inchikey
picked = st.selectbox(
    "Molecule", keys, format_func=labels.get, index=keys.index(previous) if previous in keys else 0
)
st.session_state.selected_inchikey = picked
row = found.set_index("inchikey").loc[picked]
compound = common.store().by_inchikey(picked)

drawing, facts = st.columns([1, 2])
png = common.structure_png(row["smiles"], 320)
if png:
    drawing.image(png)
else:
    drawing.warning("RDKit could not draw this SMILES.")
facts.subheader(row["name"])
facts.markdown(
    f"**Formula** {row['formula']} · **MW** {row['mw']:.2f} g/mol · **Split** {row['split']}"
    + (f" · **CID** {row['cid']}" if row["cid"] >= 0 else "")
    + (f" · **CAS** {compound.cas}" if compound and compound.cas else "")
)
facts.code(row["smiles"], language=None)
if compound and compound.inchi:
    facts.caption(compound.inchi)
facts.caption(f"InChIKey {picked}")

molecule = molecules.set_index("inchikey").loc[picked]
descriptors = {key: molecule[key] for key in DESCRIPTORS if key in molecule}
rule_of_five = chem.lipinski(float(row["mw"]), descriptors)
described, named = st.columns([1, 2])
described.subheader("Descriptors")
described.dataframe(
    pd.DataFrame(
        {
            "descriptor": [DESCRIPTORS[key] for key in descriptors],
            "value": [round(float(v), 2) for v in descriptors.values()],
        }
    ),
    hide_index=True,
)
verdict = "passes" if rule_of_five["passes"] else "fails"
broken = ", ".join(rule_of_five["failed"]) or "none"
described.caption(f"Lipinski's rule of five: {verdict} (rules broken: {broken}).")
named.subheader("Names")
named.dataframe(explore.molecule_names(names, picked), hide_index=True)
