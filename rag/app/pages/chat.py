"""The Ask page: a conversation with the library, answers quoting it with numbered citations.

A Streamlit page script run by app.py's navigation. It renders; the view models in
`rag.app.view` decide what is shown, and all document text reaches the page escaped.
"""

from __future__ import annotations

import uuid

import streamlit as st

from rag.app import library, resources, view
from rag.errors import ChangeGuideError

settings = resources.settings_or_stop()
engine = resources.engine_or_stop(settings)
visitor = resources.visitor_or_stop(
    settings
)  # everyone may ask and give feedback; the role only words the page
records = engine.documents()
facets = library.facets(records)
exchanges: list[view.Exchange] = st.session_state.setdefault("exchanges", [])
feedback_given: dict[str, bool] = st.session_state.setdefault("feedback_given", {})


def _ask_starter(question: str) -> None:
    st.session_state["pending_question"] = question


def _new_conversation() -> None:
    st.session_state["exchanges"] = []


# -- sidebar: what to search and how -------------------------------------------------------------
with st.sidebar:
    st.subheader("Search the library")
    doc_ids = st.multiselect(
        "Documents",
        options=list(facets.titles),
        format_func=lambda doc_id: facets.titles.get(doc_id, doc_id),
        placeholder="All documents",
    )
    topics = st.multiselect("Topics", options=facets.topics, placeholder="All topics")
    years = None
    if facets.years and facets.years[0] < facets.years[1]:
        years = st.slider("Year published", *facets.years, value=facets.years)
    backend_options = resources.backends(settings)
    backend = st.selectbox(
        "Answer backend",
        backend_options,
        format_func=lambda name: resources.BACKEND_LABELS.get(name, name),
        disabled=len(backend_options) == 1,
        help="Extractive answers quote the library and need no language model. "
        "A generative backend appears here when one is configured (CHANGEGUIDE_LLM__BACKEND).",
    )
    k = st.slider(
        "Passages to draw on",
        min_value=1,
        max_value=15,
        value=settings.retrieval.k,
        help="How many of the best-matching passages the answer may quote (k).",
    )
    st.button("New conversation", on_click=_new_conversation, disabled=not exchanges, width="stretch")
    st.caption(f"{len(records)} documents in the library")

filters = library.search_filters(doc_ids, topics, years, facets.years)


# -- rendering -----------------------------------------------------------------------------------
def render_card(card: view.CitationCard) -> None:
    with st.container(border=True):
        st.markdown(f"**\\[{card.n}\\] {view.escape_markdown(card.title)}**")
        details = [card.location, card.source] + ([] if card.verified else ["does not support its sentence"])
        st.caption(view.escape_markdown(" · ".join(d for d in details if d)))
        st.html(card.excerpt_html())
        if card.context_label:
            with st.expander(f"Show in the document ({card.context_label.lower()})"):
                st.html(card.context_html())
        if card.key_sources:
            with st.expander(f"Key sources of this document ({len(card.key_sources)})"):
                st.html(card.key_sources_html())


def render_feedback(exchange: view.Exchange) -> None:
    if exchange.id in feedback_given:
        st.caption("Thank you: your feedback was saved.")
        return
    with st.form(key=f"feedback-{exchange.id}", border=False):
        st.caption("Was this answer helpful?")
        verdict = st.feedback("thumbs", key=f"verdict-{exchange.id}")
        comment = st.text_input(
            "Comment (optional)", key=f"comment-{exchange.id}", placeholder="What was missing or wrong?"
        )
        if st.form_submit_button("Send feedback"):
            if verdict is None:
                st.warning("Choose thumbs up or thumbs down first.")
            else:
                position = next(i for i, e in enumerate(exchanges) if e.id == exchange.id)
                history = view.history_turns([(e.question, e.answer) for e in exchanges[:position]])
                store = resources.feedback_store(settings)
                store.add(exchange.answer, helpful=verdict == 1, comment=comment, history=history)
                feedback_given[exchange.id] = verdict == 1
                st.rerun()


def render_exchange(exchange: view.Exchange) -> None:
    answer = exchange.answer
    with st.chat_message("user", avatar=":material/person:"):
        st.markdown(view.escape_markdown(exchange.question))
    with st.chat_message("assistant", avatar=":material/explore:"):
        if answer.abstained:
            st.warning(view.ABSTAINED_HEADLINE, icon=":material/search_off:")
            st.markdown(view.answer_markdown(answer))
            nearest = view.nearest_documents(answer)
            if nearest:
                st.markdown(
                    "**Nearest documents in the library:**\n\n"
                    + "\n".join(f"- {view.escape_markdown(name)}" for name in nearest)
                )
        else:
            st.markdown(view.answer_markdown(answer))
            if answer.standalone_question != answer.question:
                st.caption(f"Searched for: {view.escape_markdown(answer.standalone_question)}")
        if answer.notice:
            st.info(view.escape_markdown(answer.notice), icon=":material/info:")
        if exchange.has_unverified:
            st.caption(
                "Sentences marked Unverified were written by the language model and are not supported "
                "by the excerpts they cite: check them against the sources."
            )
        for card in exchange.cards:
            render_card(card)
        left, right = st.columns([1, 2], vertical_alignment="bottom")
        with left:
            st.download_button(
                "Download answer (Markdown)",
                data=view.export_markdown(answer),
                file_name=view.export_filename(answer),
                mime="text/markdown",
                key=f"download-{exchange.id}",
                icon=":material/download:",
            )
            total = answer.timings_ms.get("total")
            if total is not None:
                st.caption(
                    f"Answered in {total / 1000:.1f} s · {resources.BACKEND_LABELS.get(answer.backend, answer.backend)}"
                )
        with right:
            render_feedback(exchange)


def ask(question: str) -> None:
    with st.chat_message("user", avatar=":material/person:"):
        st.markdown(view.escape_markdown(question))
    with st.chat_message("assistant", avatar=":material/explore:"):
        streamed = st.empty()
        tokens: list[str] = []

        def on_token(token: str) -> None:
            tokens.append(token)
            streamed.markdown(view.escape_markdown("".join(tokens)))

        try:
            with st.spinner("Searching the library…"):
                answer = engine.ask(
                    question,
                    history=view.history_turns([(e.question, e.answer) for e in exchanges]),
                    filters=filters,
                    k=k,
                    backend=backend,
                    on_token=on_token,
                )
                documents = {c.doc_id: engine.index.source_document(c.doc_id) for c in answer.citations}
        except ChangeGuideError as exc:
            st.error(view.escape_markdown(str(exc)))
            return
        streamed.empty()
    cards = tuple(view.citation_cards(answer, documents))
    exchanges.append(view.Exchange(id=uuid.uuid4().hex[:12], question=question, answer=answer, cards=cards))
    st.rerun()  # draw the new exchange with the others, feedback form and all


# -- the page ------------------------------------------------------------------------------------
st.title("Ask the library")
question = st.chat_input("Ask about leading change, improvement or measurement…")
question = question or st.session_state.pop("pending_question", None)

if not records:
    if visitor.is_librarian:
        st.info(
            "The library is empty. Add documents on the Library page (or run `make run`, which indexes "
            "the starter library), then ask your question."
        )
        st.page_link("rag/app/pages/library.py", label="Go to the Library", icon=":material/library_books:")
    else:
        st.info("The library is empty: ask a librarian to add documents, then ask your question.")
elif not exchanges and not question:
    st.markdown(
        "Answers quote the library word for word, with a numbered source for every sentence. "
        "When the library does not cover a question, Change Guide says so instead of guessing."
    )
    st.caption("Try one of these:")
    columns = st.columns(2)
    for i, starter in enumerate(settings.app.starter_questions):
        columns[i % 2].button(
            starter, key=f"starter-{i}", on_click=_ask_starter, args=(starter,), width="stretch"
        )

for exchange in exchanges:
    render_exchange(exchange)
if question and records:
    ask(question)
