"""How do ledgers get in and out, and how clean are they? (coming)"""

import streamlit as st

from closeloop import session
from closeloop.session import t

session.require_frame()

st.title(t("page_data"))
st.info(t("coming", what=t("coming_data")))
