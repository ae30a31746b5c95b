"""What keeps coming back after we thought it was fixed? (coming)"""

import streamlit as st

from closeloop.session import t

st.title(t("page_recurrence"))
st.info(t("coming", what=t("coming_recurrence")))
