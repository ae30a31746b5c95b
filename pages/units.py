"""Which units carry the most, and how does one unit compare with its peers? (coming)"""

import streamlit as st

from closeloop.session import t

st.title(t("page_units"))
st.info(t("coming", what=t("coming_units")))
