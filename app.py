"""Change Guide: the Streamlit app. Start it with `make run` (or `streamlit run app.py`).

This file only renders: the gate (sign-in with the organisation's identity provider, or the
optional shared password), who is signed in, and the navigation between the pages in
rag/app/pages/. Who may do what is decided in `rag.app.roles`; everything else in `rag/`.
"""

import streamlit as st

from rag.app import auth, resources, view

st.set_page_config(page_title="Change Guide", page_icon=":material/explore:", layout="wide")
settings = resources.settings_or_stop()
sign_in = resources.sign_in_or_stop(settings)

if sign_in == "oidc" and resources.visitor(settings) is None:
    st.title("Change Guide")
    st.markdown("Evidence on leading change in health services, quoted from your library.")
    if st.user.is_logged_in:  # signed in, but longer ago than CHANGEGUIDE_APP__OIDC__SIGN_IN_HOURS
        st.info("Your sign-in has expired: sign in again to go on.", icon=":material/schedule:")
    for provider in auth.providers(resources.auth_secrets()):
        name = settings.app.oidc.provider_name if provider == "default" else provider
        if st.button(f"Sign in with {name}", type="primary", key=f"sign-in-{provider}"):
            st.login(provider)
    st.stop()

if sign_in == "password" and not st.session_state.get("signed_in"):
    password = auth.expected_password(settings, resources.secret("password")) or ""
    st.title("Change Guide")
    with st.form("sign-in"):
        given = st.text_input("Password", type="password")
        if st.form_submit_button("Sign in", type="primary"):
            if auth.password_matches(given, password):
                st.session_state["signed_in"] = True
                st.rerun()
            st.error("That password is not right.")
    st.stop()

visitor = resources.visitor_or_stop(settings)
with st.sidebar:
    st.markdown("### :material/explore: Change Guide")
    st.caption("Evidence on leading change in health services, quoted from your library.")
    if sign_in == "oidc":
        st.caption(f"Signed in as **{view.escape_markdown(visitor.name)}** ({visitor.role.value})")
        if st.button("Sign out", icon=":material/logout:", key="sign-out"):
            st.logout()

pages = [
    st.Page("rag/app/pages/chat.py", title="Ask", icon=":material/forum:", default=True),
    st.Page("rag/app/pages/library.py", title="Library", icon=":material/library_books:"),
    st.Page("rag/app/pages/evaluations.py", title="Evaluations", icon=":material/monitoring:"),
]
st.navigation(pages, position="top").run()
