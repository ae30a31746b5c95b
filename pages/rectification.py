"""Who owns which action, what is due, and what awaits verification? (coming)"""

import streamlit as st

from closeloop.session import t

st.title(t("page_rectification"))
st.info(t("coming", what=t("coming_rectification")))
