"""Optional sign-in: when .streamlit/secrets.toml configures OIDC (`[auth]`), every visitor
must log in with st.login before seeing anything; otherwise the dashboard is open to whoever
reaches 127.0.0.1 (or the authenticating proxy in front of it)."""

from __future__ import annotations

import streamlit as st


def login_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:   # no secrets file at all: Streamlit raises its own not-found error
        return False


def require_login() -> None:
    """Stop the run with a login button until the visitor has signed in (when configured)."""
    if not login_configured() or _logged_in():
        return
    st.title("monitor")
    st.write("Sign in to see the dashboard.")
    st.button("Log in", on_click=st.login)
    st.stop()


def logout_button() -> None:
    if login_configured() and _logged_in():
        st.sidebar.button("Log out", on_click=st.logout)


def _logged_in() -> bool:
    return bool(st.user.get("is_logged_in", False))
