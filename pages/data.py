"""How do ledgers get in and out, and how clean are they? (coming)"""

import streamlit as st

from closeloop.session import t

st.title(t("page_data"))
st.info(t("coming", what=t("coming_data")))
