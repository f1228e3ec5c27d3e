"""The Library page: the documents in the index, uploads with progress, and removal.

A Streamlit page script run by app.py's navigation. Uploads and removals are a librarian's
(`rag.app.roles`); readers see the documents and a note of what a librarian can do.
"""

from __future__ import annotations

import streamlit as st

from rag.app import library, resources, roles, view
from rag.errors import ChangeGuideError
from rag.ingest.loaders import SUPPORTED_EXTENSIONS

STAGE_LABELS = {
    "loading": "Reading",
    "embedding": "Indexing",
    "storing": "Saving",
    "added": "Added",
    "updated": "Updated",
    "unchanged": "Already in the library",
    "failed": "Could not add",
}

settings = resources.settings_or_stop()
engine = resources.engine_or_stop(settings)
visitor = resources.visitor_or_stop(settings)

st.title("Library")


def render_summary(summary: library.IngestSummary) -> None:
    (st.success if summary.ok else st.warning)(view.escape_markdown(summary.headline))
    for label, names in (("Added", summary.added), ("Updated", summary.updated)):
        if names:
            st.markdown(f"**{label}:** " + "; ".join(view.escape_markdown(n) for n in names))
    if summary.unchanged:
        st.caption("Already in the library: " + "; ".join(view.escape_markdown(n) for n in summary.unchanged))
    for name, notes in summary.details:
        st.caption(f"{view.escape_markdown(name)}: " + "; ".join(view.escape_markdown(n) for n in notes))
    for name, reason in summary.failed:
        st.markdown(f"- **{view.escape_markdown(name)}**: {view.escape_markdown(reason)}")


@st.fragment(run_every=2)
def ingest_status() -> None:
    """Every session sees a running ingest (this app's or another process's), refreshed every 2 s."""
    text = library.ingest_status_text(engine.ingest_status())
    if text:
        st.info(view.escape_markdown(text), icon=":material/hourglass_top:")


def add_uploads(files: list) -> None:
    waiting = engine.ingest_status()
    start = "Waiting for the running ingest to finish…" if waiting.running or waiting.queued else "Starting…"
    bar = st.progress(0.0, text=start)

    def on_event(event) -> None:  # an IngestEvent, from the ingesting thread (this one)
        bar.progress(library.progress_fraction(event), text=library.progress_text(event, STAGE_LABELS))

    try:
        summary = library.add_documents(
            engine, [(f.name, f.getvalue()) for f in files], settings, visitor, progress=on_event
        )
    except ChangeGuideError as exc:
        st.error(view.escape_markdown(str(exc)))
        return
    st.session_state["ingest_summary"] = summary
    st.session_state["uploader"] = st.session_state.get("uploader", 0) + 1  # a fresh, empty uploader
    st.rerun()


ingest_status()
if not visitor.is_librarian:
    st.info(
        f"You can search and read this library. Librarians {roles.LIBRARIAN_CAN}. "
        + view.escape_markdown(visitor.reason),
        icon=":material/lock:",
    )
else:
    with st.container(border=True):
        st.subheader("Add documents")
        limit = settings.ingest.max_file_mb
        files = st.file_uploader(
            "PDF, Word, PowerPoint, Excel, CSV, web pages, Markdown or text files",
            type=sorted(e.lstrip(".") for e in SUPPORTED_EXTENSIONS),
            accept_multiple_files=True,
            key=f"uploader-{st.session_state.get('uploader', 0)}",
            help=f"Up to {limit:g} MB each. A file with the same name as an earlier upload replaces it.",
        )
        if st.button("Add to library", type="primary", disabled=not files, icon=":material/upload:"):
            add_uploads(files or [])
        if "ingest_summary" in st.session_state:
            render_summary(st.session_state["ingest_summary"])

records = engine.documents()
stats = engine.stats()
st.caption(
    f"{stats.documents} documents · {stats.chunks:,} passages · {stats.size_bytes / 1024 / 1024:.1f} MB on disk · "
    f"index {stats.fingerprint}"
)
facets = library.facets(records)
left, middle, right = st.columns([2, 1, 1])
text = left.text_input("Filter by title or file name", placeholder="e.g. PDSA")
formats = middle.multiselect(
    "Format", facets.formats, format_func=lambda f: library.FORMAT_LABELS.get(f, f), placeholder="Any format"
)
topics = right.multiselect("Topic", facets.topics, placeholder="Any topic")
shown = library.filter_records(records, text, formats, topics)
if shown:
    st.dataframe(
        library.document_rows(shown, engine.index.shared_shares()),
        hide_index=True,
        width="stretch",
        column_config={
            "Title": st.column_config.TextColumn(width="large"),
            "Format": st.column_config.TextColumn(width="small"),
            "Pages": st.column_config.TextColumn(width="small"),
            "Passages": st.column_config.NumberColumn(width="small"),
            "Year": st.column_config.TextColumn(width="small"),
            "Shared": st.column_config.TextColumn(
                width="medium", help="Passages that repeat other documents (collapsed in answers)"
            ),
            "Added": st.column_config.TextColumn(width="small"),
        },
    )
    if len(shown) < len(records):
        st.caption(f"Showing {len(shown)} of {len(records)} documents.")
else:
    st.info("No documents match." if records else "The library is empty: add documents above.")

if visitor.is_librarian and records:
    with st.expander("Remove documents"):
        titles = {r.doc_id: library.display_title(r) for r in shown}
        chosen = st.multiselect("Documents to remove", list(titles), format_func=lambda d: titles.get(d, d))
        if st.button(f"Remove {len(chosen)} document(s)", disabled=not chosen, type="secondary"):
            try:
                st.session_state["removal"] = library.remove_documents(engine, chosen, settings, visitor)
            except ChangeGuideError as exc:
                st.error(view.escape_markdown(str(exc)))
            else:
                st.rerun()
        removal = st.session_state.get("removal")
        if removal is not None:
            if removal.removed:
                st.success("Removed: " + "; ".join(view.escape_markdown(t) for t in removal.removed))
            for doc_id, reason in removal.failed:
                st.error(
                    f"{view.escape_markdown(titles.get(doc_id, doc_id))}: {view.escape_markdown(reason)}"
                )
