"""How long does closing take, counting what is still open? (coming)"""

import streamlit as st

from closeloop.session import t

st.title(t("page_time_to_close"))
st.info(t("coming", what=t("coming_time_to_close")))
