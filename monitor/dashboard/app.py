"""The dashboard's entry file: page setup, the global filters, and navigation.

Run by `monitor dashboard` (see launch.py); each page in app_pages/ is UI only.
"""

from pathlib import Path

import streamlit as st

from monitor.dashboard import auth, data, filters

# Not named "pages/": Streamlit would also read such a folder as old-style pages, which
# breaks reruns under AppTest.
PAGES = Path(__file__).resolve().parent / "app_pages"

st.set_page_config(page_title="monitor", page_icon="📰", layout="wide")
auth.require_login()

filters.sidebar(data.filter_options(data.db_url()))
navigation = st.navigation([
    st.Page(PAGES / "overview.py", title="Overview", default=True),
    st.Page(PAGES / "stories.py", title="Stories"),
    st.Page(PAGES / "themes.py", title="Themes"),
    st.Page(PAGES / "framing.py", title="Framing"),
    st.Page(PAGES / "sources.py", title="Sources"),
    st.Page(PAGES / "articles.py", title="Articles"),
    st.Page(PAGES / "annotate.py", title="Annotate"),
])
auth.logout_button()
navigation.run()
