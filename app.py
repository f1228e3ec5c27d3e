"""Change Guide: the Streamlit app. Start it with `make run` (or `streamlit run app.py`).

This file only renders: the optional password gate and the navigation between the pages in
rag/app/pages/. Everything the pages show is computed in `rag/`.
"""

import streamlit as st

from rag.app import auth, resources

st.set_page_config(page_title="Change Guide", page_icon=":material/explore:", layout="wide")
settings = resources.settings_or_stop()

password = auth.expected_password(settings, resources.secret("password"))
if password and not st.session_state.get("signed_in"):
    st.title("Change Guide")
    with st.form("sign-in"):
        given = st.text_input("Password", type="password")
        if st.form_submit_button("Sign in", type="primary"):
            if auth.password_matches(given, password):
                st.session_state["signed_in"] = True
                st.rerun()
            st.error("That password is not right.")
    st.stop()

with st.sidebar:
    st.markdown("### :material/explore: Change Guide")
    st.caption("Evidence on leading change in health services, quoted from your library.")

pages = [
    st.Page("rag/app/pages/chat.py", title="Ask", icon=":material/forum:", default=True),
    st.Page("rag/app/pages/library.py", title="Library", icon=":material/library_books:"),
    st.Page("rag/app/pages/evaluations.py", title="Evaluations", icon=":material/monitoring:"),
]
st.navigation(pages, position="top").run()
