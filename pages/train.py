"""Training page: the runs on disk and their state (launch form and live curves follow)."""

import pandas as pd
import streamlit as st

from chemnet import runs

st.title("Training")
infos = runs.list_runs()
if not infos:
    st.info("No training runs yet. Start one with `python -m chemnet.train --task name`.")
else:
    table = pd.DataFrame(
        [{"run": i.run_id, "state": i.state, "epoch": i.epoch, "message": i.message} for i in infos]
    )
    st.dataframe(table, hide_index=True)
