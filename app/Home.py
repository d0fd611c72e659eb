"""ChemNet-Vision entry point: `streamlit run app/Home.py`.

Routes with st.navigation to the overview and to the pages in pages/ (a folder beside app/,
which only st.navigation reaches). Paths are absolute so AppTest and any working folder agree.
"""

from functools import partial

import streamlit as st

import overview
from chemnet.paths import ROOT

# (file in pages/, title, icon) in the order the sidebar lists them.
PAGES = (
    ("chat.py", "Chat", ":material/chat:"),
    ("data.py", "Dataset explorer", ":material/table_view:"),
    ("train.py", "Training", ":material/model_training:"),
    ("evaluate.py", "Evaluation", ":material/analytics:"),
)

st.set_page_config(page_title="ChemNet-Vision", page_icon=":material/science:", layout="wide")

present = [(ROOT / "pages" / file, title, icon) for file, title, icon in PAGES]
missing = [title for path, title, _ in present if not path.exists()]
home = st.Page(partial(overview.render, missing), title="Overview", icon=":material/home:",
               url_path="overview", default=True)
pages = [home] + [st.Page(path, title=title, icon=icon) for path, title, icon in present
                  if path.exists()]
st.navigation(pages).run()
