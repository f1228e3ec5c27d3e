"""The Streamlit app's logic: view models, feedback, uploads and the password gate.

`app.py` and the page scripts in `rag/app/pages/` render; everything they show is computed here
by plain functions that tests call without Streamlit.
"""
