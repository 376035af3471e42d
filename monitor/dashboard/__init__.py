"""The Streamlit dashboard: `app.py` is the entry file, pages are UI only, data comes from data.py."""
