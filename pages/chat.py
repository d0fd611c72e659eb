"""Chat page: ask about a molecule by name, sentence, SMILES, CAS number or drawing."""

import streamlit as st

import chat_views as views
import common
import molview

common.init_page()
st.title("Chat")
if not common.ensure_data():
    st.stop()

with st.sidebar:
    mode = st.radio("Answer mode", list(views.MODE_HELP), key="chat_mode",
                    format_func=lambda m: m, captions=list(views.MODE_HELP.values()))
    style = molview.style_picker("chat_style")
    if st.button("Clear conversation", key="chat_clear"):
        st.session_state["chat_history"] = []

st.caption("Try an example:")
columns = st.columns(len(views.EXAMPLES))
for i, (column, example) in enumerate(zip(columns, views.EXAMPLES)):
    if column.button(example, key=f"chat_example_{i}", use_container_width=True):
        views.ask(example, mode)

with st.expander("Read a molecule from an image"):
    upload = st.file_uploader("A drawing of one molecule", type=["png", "jpg", "jpeg"],
                              key="chat_upload")
    formula = st.text_input("Molecular formula (optional, helps the image model)",
                            key="chat_formula")
    if st.button("Read the image", key="chat_read_image", disabled=upload is None):
        views.ask_image(upload, formula)

prompt = st.chat_input("Ask about a molecule, e.g. Tell me about caffeine", key="chat_prompt")
if prompt:
    views.ask(prompt, mode)

views.show_history(style)
