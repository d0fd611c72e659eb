"""Widgets of the chat page: the shared chat engine, the answer card and the history."""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

import common
import molview
from chemnet.chat import ChatEngine

EXAMPLES = (
    "Tell me about caffeine",
    "What is the molecular weight of aspirin?",
    "show me CC(=O)O",
    "58-08-2",
    "ibuprofn",
    "2-methylpropan-1-ol",
)
MODE_HELP = {
    "auto": "the name model when it is valid, confident and consistent; else the database",
    "ai": "the name model only; properties computed from its structure",
    "fallback": "the compound database only (typo-tolerant)",
}
DESCRIPTOR_LABELS = {
    "logp": "logP", "tpsa": "TPSA (Å²)", "hbd": "H-bond donors", "hba": "H-bond acceptors",
    "rotatable_bonds": "rotatable bonds", "rings": "rings", "heavy_atoms": "heavy atoms",
}  # fmt: skip
SOURCE_LABELS = {"model": "name model", "database": "database", "smiles": "your structure",
                 "image": "image model"}


def engine() -> ChatEngine:
    """The chat engine over the folders in force, shared by all sessions."""
    models = common.models_dir()
    return _engine(str(common.data_dir() / "chemnet.sqlite"), str(models / "name2smiles.pth"),
                   str(models / "image2smiles.pth"))


@st.cache_resource(show_spinner="Loading the compound store and models...")
def _engine(store: str, name_model: str, image_model: str) -> ChatEngine:
    # Shared by all sessions; it reloads a checkpoint that changed on disk.
    engine = ChatEngine(store_path=store, name_model=name_model, image_model=image_model)
    engine.warm()
    return engine


def history() -> list[dict]:
    """The conversation of this session: {"role", "text"} and {"role", "answer"} entries."""
    return st.session_state.setdefault("chat_history", [])


def ask(text: str, mode: str) -> None:
    """Answer a message and append both to the history."""
    answer = engine().answer(text, mode)
    history().extend([{"role": "user", "text": text}, {"role": "assistant", "answer": answer}])


def ask_image(upload, formula: str) -> None:
    """Answer an uploaded drawing with the image model and append it to the history."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(upload).convert("RGB")
    except (UnidentifiedImageError, OSError) as exc:
        answer = {"status": "error", "message": f"Cannot read {upload.name}: {exc}"}
    else:
        answer = engine().answer_image(image, formula.strip() or None)
    history().extend([{"role": "user", "text": f"(image: {upload.name})"},
                      {"role": "assistant", "answer": answer}])


def show_history(style: str) -> None:
    """Replay the conversation; only the newest answer gets the (costlier) 3D view."""
    entries = history()
    last = max((i for i, e in enumerate(entries) if e["role"] == "assistant"), default=-1)
    for index, entry in enumerate(entries):
        with st.chat_message(entry["role"]):
            if entry["role"] == "user":
                st.text(entry["text"])
            else:
                answer_card(entry["answer"], key=f"a{index}", style=style,
                            with_3d=index == last)


def answer_card(answer: dict, key: str, style: str = "stick", with_3d: bool = True) -> None:
    """One answer: message, facts, 2D, 3D, descriptors, synonyms, alternatives, downloads."""
    if answer.get("status") != "ok":
        show = st.error if answer.get("status") == "error" else st.warning
        show(answer.get("message") or "No answer.")
        return
    st.markdown(html.escape(answer["message"]))
    smiles = answer["canonical_smiles"]
    left, right = st.columns([1, 1])
    with left:
        molview.show_2d(smiles, caption=answer.get("name") or smiles)
    with right:
        st.markdown(facts_markdown(answer))
        st.code(smiles, language=None)
    if with_3d:
        molview.show_3d(smiles, style=style)
    descriptor_table(answer)
    extras(answer)
    molview.download_buttons(smiles, stem=_stem(answer), key=key)


def facts_markdown(answer: dict) -> str:
    """Name, formula, weight, identifiers, source and confidence as a Markdown list."""
    source = SOURCE_LABELS.get(answer.get("source"), answer.get("source"))
    confidence = answer.get("confidence")
    rows = [
        ("Name", answer.get("name")),
        ("Formula", answer.get("formula")),
        ("Molecular weight", f"{answer['molecular_weight']:.2f} g/mol"),
        ("InChIKey", answer.get("inchikey")),
        ("PubChem CID", answer.get("cid")),
        ("CAS", answer.get("cas")),
        ("Source", source),
        ("Confidence", f"{confidence:.2f}" if confidence is not None else None),
        ("Why", answer.get("reason")),
    ]
    return "\n".join(f"- **{label}**: {html.escape(str(value))}" for label, value in rows
                     if value not in (None, ""))


def descriptor_table(answer: dict) -> None:
    """The descriptors in one row and the Lipinski verdict below."""
    desc = answer.get("descriptors") or {}
    values = {label: desc[key] for key, label in DESCRIPTOR_LABELS.items() if key in desc}
    if values:
        st.dataframe(pd.DataFrame([values]), hide_index=True, use_container_width=True)
    lipinski = desc.get("lipinski")
    if lipinski:
        failed = ", ".join(lipinski["failed"]) or "none"
        verdict = "drug-like" if lipinski["passes"] else "not drug-like"
        st.caption(f"Lipinski's rule of five: {verdict} ({lipinski['violations']} violations: "
                   f"{failed}).")


def extras(answer: dict) -> None:
    """Synonyms and alternatives, folded away."""
    if answer.get("synonyms"):
        with st.expander(f"Synonyms ({len(answer['synonyms'])})"):
            st.write(", ".join(answer["synonyms"]))
    if answer.get("alternatives"):
        with st.expander("Alternatives"):
            st.dataframe(pd.DataFrame(answer["alternatives"]), hide_index=True)


def _stem(answer: dict) -> str:
    name = answer.get("name") or "molecule"
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:60] or "molecule"
