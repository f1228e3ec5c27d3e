"""The Evaluations page: run a question set against the library, read the report, compare runs.

A Streamlit page script run by app.py's navigation; the logic is in `rag.app.evaluations`.
Everything on it is a librarian's (`rag.app.roles`): readers see what it is for, and nothing else.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from rag.app import evaluations, resources, roles, view
from rag.errors import ChangeGuideError
from rag.evals.compare import TAG_FIGURES

settings = resources.settings_or_stop()
visitor = resources.visitor_or_stop(settings)

st.title("Evaluations")
st.markdown(
    "Measure how well Change Guide answers from this library: run a question set, read the figures, "
    "and compare runs after changing the library or the settings."
)
if not visitor.is_librarian:
    # Nothing else renders for readers: runs occupy the cores, and question sets, exported
    # feedback and reports hold the questions and comments of everyone who used the app.
    st.info(
        f"Evaluations are for librarians, who {roles.LIBRARIAN_CAN}. " + view.escape_markdown(visitor.reason),
        icon=":material/lock:",
    )
    st.stop()


def _show_export(path, exported: int, left_out: int) -> None:
    if path is None:
        st.info("No feedback can become a question yet: mark answers as helpful first.")
    else:
        st.success(
            f"{exported} question(s) written to {view.escape_markdown(path.name)}"
            + (f"; {left_out} unhelpful answer(s) left for a person to review." if left_out else ".")
        )


# -- run a question set --------------------------------------------------------------------------
with st.container(border=True):
    st.subheader("Run a question set")
    sets = evaluations.question_sets(settings)
    left, right = st.columns([3, 2])
    with left:
        chosen = st.selectbox(
            "Question set", sets, format_func=lambda s: s.label, placeholder="No question sets yet"
        )
        upload = st.file_uploader(
            "Or upload a question set (JSONL)",
            type=["jsonl"],
            key="question-set-upload",
            help="One JSON object per line: id, question, answerable, gold_sources, gold_phrases, tags.",
        )
        if upload is not None and st.button("Keep this question set"):
            try:
                path = evaluations.save_question_set(upload.name, upload.getvalue(), settings, visitor)
            except ChangeGuideError as exc:
                st.error(view.escape_markdown(str(exc)))
            else:
                st.success(f"Saved as {view.escape_markdown(path.name)}: choose it above.")
                st.rerun()
        if st.button("Export feedback as a question set"):
            try:
                path, exported, left_out = evaluations.export_feedback_set(
                    resources.feedback_store(settings), settings, visitor
                )
            except ChangeGuideError as exc:
                st.error(view.escape_markdown(str(exc)))
            else:
                _show_export(path, exported, left_out)
    with right:
        retriever = st.selectbox("Retrieval", ["hybrid", "dense", "bm25"])
        backend = st.selectbox(
            "Answer backend",
            resources.backends(settings),
            format_func=lambda name: resources.BACKEND_LABELS.get(name, name),
        )
        is_pubmed = chosen is not None and chosen.dataset == "pubmedqa"
        limit = st.number_input(
            "Questions to ask (0 = all)",
            min_value=0,
            value=evaluations.PUBMEDQA_DEFAULT_LIMIT if is_pubmed else 0,
            help="A quick run on the first questions; PubMedQA indexes one document per question.",
        )
    if st.button("Run evaluation", type="primary", disabled=chosen is None, icon=":material/play_arrow:"):
        bar = st.progress(0.0, text="Preparing…")

        def on_progress(done: int, total: int, question: str) -> None:
            text = f"{done} of {total}: {question[:90]}" if question else f"{total} questions asked"
            bar.progress(done / max(total, 1), text=text)

        try:
            with st.spinner("Evaluating…"):
                out = evaluations.run_question_set(
                    settings,
                    chosen,
                    visitor=visitor,
                    embedder=resources.embedder(settings),
                    backend=backend,
                    retriever=retriever,
                    limit=int(limit) or None,
                    progress=on_progress,
                )
        except ChangeGuideError as exc:
            st.error(view.escape_markdown(str(exc)))
        else:
            st.session_state["eval_run"] = out.name
            st.rerun()

# -- read a run ----------------------------------------------------------------------------------
runs = evaluations.runs(settings)
if not runs:
    st.info("No evaluation runs yet. Run a question set above, or `changeguide eval` on the command line.")
    st.stop()

names = [r.name for r in runs]
latest = st.session_state.get("eval_run")
run = st.selectbox(
    "Run", runs, index=names.index(latest) if latest in names else 0, format_func=lambda r: r.name
)
try:
    report = evaluations.read_report(run, visitor)
except ChangeGuideError as exc:
    st.error(view.escape_markdown(str(exc)))
    st.stop()

st.caption(view.escape_markdown(evaluations.report_summary(report)))
figures, tags = st.columns([1, 2])
with figures:
    st.dataframe(evaluations.headline_rows(report), hide_index=True, width="stretch")
with tags:
    rows = evaluations.tag_rows(report, TAG_FIGURES)
    if rows:
        st.caption("Figures by tag")
        st.bar_chart(pd.DataFrame(rows).set_index("tag"), stack=False, height=320)
    for plot in evaluations.plots(run):
        if "latency" in plot.name:
            st.image(str(plot), caption="Answer latency")
st.subheader("Questions")
st.dataframe(evaluations.question_rows(report), hide_index=True, width="stretch")

# -- compare two runs ----------------------------------------------------------------------------
if len(runs) > 1:
    st.subheader("Compare two runs")
    a_col, b_col = st.columns(2)
    run_a = a_col.selectbox("Run A (before)", runs, index=1, format_func=lambda r: r.name, key="compare-a")
    run_b = b_col.selectbox("Run B (after)", runs, index=0, format_func=lambda r: r.name, key="compare-b")
    try:
        rows = evaluations.comparison_rows(
            evaluations.read_report(run_a, visitor), evaluations.read_report(run_b, visitor)
        )
    except ChangeGuideError as exc:
        st.error(view.escape_markdown(str(exc)))
    else:
        worse = [r["figure"] for r in rows if r["worse"]]
        if worse:
            st.warning(
                f"{len(worse)} figure(s) got worse in B: " + view.escape_markdown(", ".join(worse[:8]))
            )
        else:
            st.success("No figure got worse from A to B.")
        st.dataframe(rows, hide_index=True, width="stretch")
