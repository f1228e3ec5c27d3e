"""The app, driven through Streamlit's AppTest against a small real index and the real model."""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

from rag.app.feedback import FeedbackStore
from rag.app.view import ABSTAINED_HEADLINE
from tests.app.conftest import HOSTILE_QUESTION, REPO

IN_SCOPE = "How do you read a run chart?"
OUT_OF_SCOPE = "What is the correct paediatric dose of amoxicillin for a chest infection?"


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, f"the app raised: {[e.value for e in at.exception]}"
    return at


def texts(at: AppTest) -> list[str]:
    """Every Markdown-rendered string on the page (markdown, captions, alerts)."""
    kinds = ("markdown", "caption", "warning", "info", "error", "success")
    return [str(el.value) for kind in kinds for el in at.get(kind)]


def html_bodies(at: AppTest) -> list[str]:
    return [el.value for el in at.get("html")]


def test_a_question_gets_an_answer_with_citation_cards(make_app):
    at = make_app().run()
    assert not at.exception, f"the app raised on start: {at.exception}"
    assert len(at.button) >= 3, "an empty chat offers starter questions as buttons"
    ask(at, IN_SCOPE)
    answer = at.chat_message[1].markdown[0].value
    assert "\\[1\\]" in answer and "run chart" in answer.lower(), f"expected a cited answer, got {answer!r}"
    cards = [b for b in html_bodies(at) if "<mark" in b]
    assert cards, "each citation shows its excerpt with the cited sentence highlighted"
    contexts = [e.label for e in at.expander if e.label.startswith("Show in the document")]
    assert len(contexts) >= len(cards) // 2, f"each card offers its document context: {contexts}"
    assert at.get("download_button"), "the answer can be downloaded as Markdown"


def test_a_starter_question_button_asks_it(make_app):
    at = make_app().run()
    starter = next(b for b in at.button if b.label == "How should we run PDSA cycles?")
    starter.click().run()
    assert not at.exception, f"the app raised: {at.exception}"
    assert at.chat_message[0].markdown[0].value == "How should we run PDSA cycles?", "the question is asked"
    answer = at.chat_message[1].markdown[0].value
    assert "PDSA" in answer and "\\[1\\]" in answer, f"expected a cited answer about PDSA: {answer!r}"
    assert not [b for b in at.button if b.label == "How should we run PDSA cycles?"], (
        "suggestions leave the chat"
    )


def test_an_out_of_scope_question_gets_the_abstention(make_app):
    at = ask(make_app().run(), OUT_OF_SCOPE)
    warnings = [w.value for w in at.warning]
    assert ABSTAINED_HEADLINE in warnings, f"expected the abstention, got warnings {warnings}"
    assert any("Nearest documents" in t for t in texts(at)), "an abstention lists the nearest documents"
    assert not [b for b in html_bodies(at) if "<mark" in b], "an abstention shows no citation cards"


def test_a_follow_up_uses_the_conversation(make_app):
    at = ask(make_app().run(), IN_SCOPE)
    ask(at, "and what are the rules?")
    assert len(at.chat_message) == 4, "both exchanges stay in the history"
    searched = [c.value for c in at.caption if c.value.startswith("Searched for:")]
    assert searched and "run chart" in searched[-1].lower(), f"the follow-up carries the topic: {searched}"


def test_document_markup_never_renders(make_app):
    at = ask(make_app().run(), HOSTILE_QUESTION)
    bodies = html_bodies(at)
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in b for b in bodies), (
        "the hostile sentence should be cited, its script shown as escaped text"
    )
    for body in bodies:
        assert "<script" not in body and "<img" not in body, f"document HTML reached the page: {body[:200]}"
        assert 'href="http://evil' not in body, "a document link became a link"
    rendered = texts(at)
    assert any("\\<img src" in t for t in rendered), "the hostile title shows as escaped text"
    for text in rendered:
        # Markdown renders HTML only from a bare "<" and a link only from a bare "](".
        assert not re.search(r"(?<!\\)<", text), f"unescaped HTML in Markdown: {text[:200]}"
        assert not re.search(r"(?<!\\)\]\(", text), f"an unescaped Markdown link: {text[:200]}"


def test_a_card_lists_its_documents_key_sources_with_links(make_app):
    at = ask(make_app().run(), HOSTILE_QUESTION)
    labels = [e.label for e in at.expander if e.label.startswith("Key sources of this document")]
    # The answer may also quote another document (with its own key sources): the hostile one's card
    # is the one with two.
    assert "Key sources of this document (2)" in labels, (
        f"the hostile document's card lists its two key sources: {[e.label for e in at.expander]}"
    )
    lists = [b for b in html_bodies(at) if b.startswith("<ol") and "bmjqs-2012-001731" in b]
    assert lists, "the hostile document's key sources are shown as a list"
    listing = lists[0]
    assert '<a href="https://doi.org/10.1136/bmjqs-2012-001731" target="_blank"' in listing, listing
    assert "&lt;b&gt;BMJ Qual Saf&lt;/b&gt;" in listing and "<b>" not in listing, "citation text is escaped"
    assert "javascript:" not in listing and listing.count("<a ") == 1, "a script URL never becomes a link"


def test_feedback_is_stored(make_app, data_dir):
    at = ask(make_app().run(), IN_SCOPE)
    at.feedback[0].set_value(1)
    at.text_input[0].set_value("Clear and well sourced")
    submit = [b for b in at.button if b.label == "Send feedback"]
    submit[0].click().run()
    assert not at.exception, f"the app raised: {at.exception}"
    items = FeedbackStore.in_folder(data_dir).items()
    assert len(items) == 1, f"one verdict stored, found {items}"
    assert items[0].helpful and items[0].comment == "Clear and well sourced", f"stored {items[0]}"
    assert items[0].question == IN_SCOPE and "run-charts.md" in items[0].cited_sources, f"stored {items[0]}"
    assert any("feedback was saved" in c.value for c in at.caption), "the person sees it was saved"


def test_uploads_appear_in_the_library_and_can_be_removed(make_app, tmp_path, data_dir):
    at = make_app(index_dir=tmp_path / "fresh-index").run()
    at.switch_page("rag/app/pages/library.py").run()
    assert not at.exception, f"the library page raised: {at.exception}"
    brief = (REPO / "corpus" / "psychological-safety.md").read_bytes()
    at.file_uploader[0].set_value(
        [
            ("../../outside/psychological safety.md", brief, "text/markdown"),
            ("notes.txt", b"Huddles help teams notice deterioration early.\n", "text/plain"),
            ("empty.txt", b"", "text/plain"),
        ]
    )
    at.run()
    [b for b in at.button if b.label == "Add to library"][0].click().run()
    assert not at.exception, f"the upload raised: {at.exception}"
    table = at.dataframe[0].value
    assert {"Psychological safety in healthcare teams", "notes.txt"} <= set(table["Title"]) | set(
        table["File"]
    ), f"both uploads are listed: {table.to_dict('records')}"
    saved = sorted(p.name for p in (data_dir / "uploads").iterdir() if not p.name.startswith("."))
    assert saved == ["notes.txt", "psychological_safety.md"], f"sanitised names inside uploads/: {saved}"
    assert not (tmp_path / "outside").exists(), "an uploaded name must not escape the uploads folder"
    assert any("empty\\.txt" in t and "the file is empty" in t for t in texts(at)), (
        "a refused upload is listed with its reason"
    )

    notes_id = next(d.doc_id for d in _documents(tmp_path / "fresh-index") if d.source.endswith("notes.txt"))
    at.multiselect[-1].select(notes_id).run()
    [b for b in at.button if b.label.startswith("Remove")][0].click().run()
    titles = set(at.dataframe[0].value["File"])
    assert titles == {"psychological_safety.md"}, f"the removed document is gone: {titles}"
    assert not (data_dir / "uploads" / "notes.txt").exists(), "removing an upload deletes its copy"


def _documents(index_dir: Path):
    from rag.config import Settings
    from rag.index.store import Index

    index = Index.open(Settings().with_index_dir(index_dir), create=False)
    try:
        return index.documents()
    finally:
        index.close()


def test_read_only_hides_uploads_and_removal(make_app):
    at = make_app(CHANGEGUIDE_APP__READ_ONLY="true").run()
    at.switch_page("rag/app/pages/library.py").run()
    assert not at.exception, f"the library page raised: {at.exception}"
    assert not at.get("file_uploader"), "a read-only library offers no upload"
    assert not [e for e in at.expander if e.label == "Remove documents"], "nor removal"
    assert len(at.dataframe[0].value) == 5, "the documents are still listed"


def test_a_password_gates_the_whole_app(make_app):
    at = make_app(CHANGEGUIDE_APP__PASSWORD="correct horse").run()
    assert not at.chat_input, "nothing but the sign-in shows before the password"
    at.text_input[0].set_value("wrong")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["That password is not right."], "a wrong password is refused"
    assert not at.chat_input, "still locked"
    at.text_input[0].set_value("correct horse")
    at.button[0].click().run()
    assert at.chat_input, "the right password opens the app"


TINY_SET = b"""\
{"id": "rc-1", "question": "How do you read a run chart?", "gold_sources": ["run-charts.md"], "gold_phrases": ["median"], "tags": ["measurement"]}
{"id": "pdsa-1", "question": "What is a PDSA cycle?", "gold_sources": ["model-for-improvement-pdsa"], "tags": ["improvement-methods"]}
{"id": "oos-1", "question": "What is the correct paediatric dose of amoxicillin?", "answerable": false, "tags": ["out-of-scope"]}
"""


def test_the_evaluation_page_runs_a_question_set_and_compares_runs(make_app, data_dir):
    at = make_app().run()
    at.switch_page("rag/app/pages/evaluations.py").run()
    assert not at.exception, f"the evaluations page raised: {at.exception}"
    at.file_uploader[0].set_value(("tiny set.jsonl", TINY_SET, "application/jsonl")).run()
    [b for b in at.button if b.label == "Keep this question set"][0].click().run()
    offered = [s for s in _question_sets() if s.path.name == "tiny_set.jsonl"]
    assert offered and any("tiny_set.jsonl" in o for o in at.selectbox[0].options), "the kept set is offered"
    at.selectbox[0].set_value(offered[0])
    for retriever in ("bm25", "hybrid"):
        at.selectbox[1].set_value(retriever)
        [b for b in at.button if b.label == "Run evaluation"][0].click().run()
        assert not at.exception, f"the run raised: {at.exception}"
    headline = at.dataframe[0].value
    assert "retrieval hit@1" in set(headline["Figure"]), (
        f"the metrics table shows: {headline.to_dict('records')}"
    )
    questions = at.dataframe[1].value
    assert list(questions["id"]) == ["rc-1", "pdsa-1", "oos-1"], "one row per question"
    assert bool(questions.set_index("id").loc["oos-1", "abstained"]), "the out-of-scope question abstained"
    assert len(at.dataframe) == 3 and "figure" in at.dataframe[2].value, "two runs can be compared"
    runs = sorted(p.name for p in (data_dir / "evals").iterdir() if (p / "report.json").is_file())
    assert len(runs) == 2 and runs[0].endswith("tiny_set-bm25"), (
        f"runs are kept where the CLI keeps them: {runs}"
    )


def _question_sets():
    from rag.app.evaluations import question_sets
    from rag.config import Settings

    return question_sets(Settings())  # the data folder comes from the environment make_app set


def test_sessions_share_one_engine(make_app, tmp_path, embedder, library_docs):
    """A document one session uploads is answerable in another at once: both use the one cached
    engine (whose locks tests/test_engine.py checks under concurrent asks and ingests)."""
    from rag.config import Settings
    from rag.engine import ChangeGuide

    index_dir = tmp_path / "shared-index"
    builder = ChangeGuide(Settings().with_index_dir(index_dir), embedder=embedder)
    builder.ingest([library_docs / "run-charts.md"])
    builder.close()
    reader = ask(make_app(index_dir=index_dir).run(), "What is psychological safety?")
    assert ABSTAINED_HEADLINE in [w.value for w in reader.warning], "not in the library yet"

    librarian = make_app(index_dir=index_dir).run()
    librarian.switch_page("rag/app/pages/library.py").run()
    brief = (library_docs / "psychological-safety.md").read_bytes()
    librarian.file_uploader[0].set_value(("psychological-safety.md", brief, "text/markdown")).run()
    [b for b in librarian.button if b.label == "Add to library"][0].click().run()
    assert not librarian.exception, f"the upload raised: {librarian.exception}"

    ask(reader, "What is psychological safety?")
    answer = reader.chat_message[3].markdown[0].value
    assert "psychological safety" in answer.lower() and "\\[1\\]" in answer, (
        f"the upload is answerable: {answer!r}"
    )


UNSUPPORTED = "The NHS spent 40 million pounds on run chart training in 2019 [1]."


def _quote_then_invent(body: dict) -> str:
    """A model that quotes excerpt 1 faithfully, then adds a sentence no excerpt supports."""
    from rag.answer.sentences import is_quotable, split_sentences

    prompt = body["messages"][-1]["content"]
    excerpt = re.search(r'<excerpt n="1"[^>]*>\n(.*?)\n</excerpt>', prompt, re.DOTALL)
    assert excerpt, "the prompt numbers its excerpts from 1"
    sentence = next(s.text for s in split_sentences(excerpt.group(1)) if is_quotable(s))
    return f"{' '.join(sentence.split())[:-1]} [1]. {UNSUPPORTED}"


def test_a_configured_llm_backend_is_offered_and_unverified_sentences_are_marked(make_app):
    from tests.llm.openai_server import Scripted, start_server, stop_server

    httpd, server = start_server(Scripted(text=_quote_then_invent))
    try:
        at = make_app(
            CHANGEGUIDE_LLM__BACKEND="openai",
            CHANGEGUIDE_LLM__BASE_URL=server.url,
            CHANGEGUIDE_LLM__API_KEY="sk-app-test-0000",
            CHANGEGUIDE_LLM__TIMEOUT_S="20",
        ).run()
        backend = at.sidebar.selectbox[0]
        assert backend.options == ["OpenAI-compatible server", "Extractive (offline, quotes only)"], (
            backend.options
        )
        assert backend.value == "openai", "the configured backend is the default"
        ask(at, IN_SCOPE)
    finally:
        stop_server(httpd, server)
    assert server.requests and server.requests[-1]["body"].get("stream"), (
        "the app asked the server, streaming"
    )
    answer = at.chat_message[1].markdown[0].value
    assert ":orange-badge[Unverified] The NHS spent 40 million" in answer, (
        f"the invented sentence is flagged: {answer}"
    )
    assert answer.index("\\[1\\]") < answer.index("Unverified"), (
        "the supported sentence comes first, unflagged"
    )
    assert any(c.value.startswith("Sentences marked Unverified") for c in at.caption), "the flag is explained"
