"""`ChangeGuide`: validation, retrieval settings, backends, library changes and sharing between threads."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from rag.answer.base import Draft
from rag.config import RetrievalSettings, Settings
from rag.engine import ChangeGuide
from rag.errors import BackendUnavailableError, DocumentNotFoundError, EmptyLibraryError, InvalidQuestionError
from rag.index.locking import ReadWriteLock
from rag.types import Filters, ScoredChunk, Turn

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
LIBRARY = ("run-charts.md", "funnel-plots.md", "just-culture.md", "psychological-safety.md")
LATER = ("compassionate-leadership.md", "kotter-eight-steps.md")  # far from run charts


class Recording:
    """A `Generator` that records the passages it is given and answers with nothing."""

    def __init__(self, name: str = "recording") -> None:
        self.name = name
        self.calls: list[tuple[str, list[ScoredChunk]]] = []

    def generate(
        self, question: str, passages: Sequence[ScoredChunk], *, on_token: Callable[[str], None] | None = None
    ) -> Draft:
        self.calls.append((question, list(passages)))
        return Draft(text="", sentences=(), citations=(), abstained=True)


@pytest.fixture(scope="module")
def engine(tmp_path_factory, embedder):
    guide = ChangeGuide(Settings().with_index_dir(tmp_path_factory.mktemp("engine") / "index"), embedder)
    report = guide.ingest([CORPUS / name for name in LIBRARY])
    assert len(report.added) == len(LIBRARY), f"the test library should ingest cleanly: {report}"
    yield guide
    guide.close()


def test_an_in_scope_question_gets_a_cited_answer(engine):
    answer = engine.ask("What is a run chart and how do I read one?")
    assert not answer.abstained, f"the library covers run charts: {answer.text}"
    assert answer.backend == "extractive" and answer.citations, "the default backend cites its excerpts"
    assert set(answer.timings_ms) == {"retrieve", "rerank", "answer", "total"}
    assert answer.timings_ms["total"] >= answer.timings_ms["retrieve"] + answer.timings_ms["answer"]
    assert answer.index_fingerprint == engine.index.fingerprint == engine.settings.fingerprint()
    assert 0 < len(answer.retrieved) <= engine.settings.retrieval.k
    ranked_ids = [c.chunk.id for c in answer.ranking]
    assert len(ranked_ids) > len(answer.retrieved), "the ranking keeps every reranked candidate"
    assert {c.chunk.id for c in answer.retrieved} <= set(ranked_ids), "the passages come from the ranking"
    assert [c.score for c in answer.ranking] == sorted((c.score for c in answer.ranking), reverse=True)
    assert Path(answer.retrieved[0].chunk.meta["source"]).name == "run-charts.md", (
        "the best passage is on topic"
    )
    for citation in answer.citations:
        text = engine.index.document_text(citation.doc_id)
        assert text[citation.start : citation.end] == citation.excerpt, "excerpts are verbatim"


def test_warm_precomputes_document_profiles(engine):
    engine.warm()
    assert engine.reranker.warm() == 0, "after engine.warm() every document profile is cached"


def test_an_out_of_scope_question_lists_the_nearest_documents(engine):
    answer = engine.ask("What is the best recipe for a chocolate souffle?")
    assert answer.abstained, f"the library says nothing about cooking, got: {answer.text}"
    assert answer.nearest_documents, "an abstention lists the nearest documents"
    ids = [d.doc_id for d in answer.nearest_documents]
    assert len(ids) == len(set(ids)), "each nearest document once"
    assert {d.doc_id for d in answer.nearest_documents} <= {r.doc_id for r in engine.documents()}
    assert all(d.title and d.source for d in answer.nearest_documents), "titles and sources to show"


@pytest.mark.parametrize(
    ("question", "message"),
    [("", "empty"), ("   \n\t", "empty"), ("why? " * 1000, "limit is 2,000")],
)
def test_invalid_questions_are_refused_with_a_reason(engine, question, message):
    with pytest.raises(InvalidQuestionError, match=message):
        engine.ask(question)


def test_bad_k_and_retriever_are_refused(engine):
    with pytest.raises(InvalidQuestionError, match="k must be"):
        engine.ask("What is a run chart?", k=0)
    with pytest.raises(InvalidQuestionError, match="retriever"):
        engine.ask("What is a run chart?", retriever="fuzzy")


@pytest.mark.parametrize(
    "question",
    [
        "How many points make a shift on a run chart?",
        "What counts as a trend on a run chart?",
        "Should I recalculate the median every time I add a point?",
    ],
)
def test_a_one_document_library_answers_questions_about_its_document(tmp_path, embedder, question):
    # Its topic words are in every chunk, so BM25 weighs them nearly nothing: the decision to
    # answer must not read raw BM25 (a model that did declined the first of these).
    guide = ChangeGuide(Settings().with_index_dir(tmp_path / "index"), embedder)
    try:
        guide.ingest([CORPUS / "run-charts.md"])
        answer = guide.ask(question)
        assert not answer.abstained and answer.citations, answer.text
    finally:
        guide.close()


def test_an_empty_library_is_refused(tmp_path, embedder):
    guide = ChangeGuide(Settings().with_index_dir(tmp_path / "empty"), embedder)
    try:
        with pytest.raises(EmptyLibraryError, match="changeguide ingest"):
            guide.ask("What is a run chart?")
    finally:
        guide.close()


def test_unknown_and_missing_backends(engine, monkeypatch):
    with pytest.raises(BackendUnavailableError, match="choose one of extractive"):
        engine.ask("What is a run chart?", backend="gpt-9")
    monkeypatch.setitem(sys.modules, "rag.llm.factory", None)  # as if rag.llm were not installed
    monkeypatch.delitem(engine._generators, "openai", raising=False)
    with pytest.raises(BackendUnavailableError, match=r"pip install '\.\[openai\]'"):
        engine.ask("What is a run chart?", backend="openai")


def test_passages_obey_k_the_cap_and_filters(engine):
    recorder = Recording()
    engine.register_generator(recorder)
    engine.ask("How should we compare hospitals and read run charts?", k=6, backend="recording")
    _, passages = recorder.calls[-1]
    assert len(passages) == 6, "k passages reach the answerer"
    per_doc: dict[str, int] = {}
    for p in passages:
        per_doc[p.chunk.doc_id] = per_doc.get(p.chunk.doc_id, 0) + 1
    assert max(per_doc.values()) <= engine.settings.retrieval.per_doc_cap, (
        f"per-document cap broken: {per_doc}"
    )
    scores = [p.score for p in passages]
    assert scores == sorted(scores, reverse=True), "passages arrive best first"

    target = next(r for r in engine.documents() if r.source.endswith("just-culture.md"))
    engine.ask(
        "What is a run chart?", filters=Filters(doc_ids=frozenset({target.doc_id})), backend="recording"
    )
    _, passages = recorder.calls[-1]
    assert passages and {p.chunk.doc_id for p in passages} == {target.doc_id}, "filters restrict the passages"
    assert len(passages) == min(engine.settings.retrieval.k, target.n_chunks), (
        "with one document allowed, the cap gives way rather than leave slots empty"
    )


def test_follow_ups_go_through_the_condenser(engine):
    recorder = Recording("recording-followup")
    engine.register_generator(recorder)
    seen: list[tuple[str, tuple[Turn, ...]]] = []

    def condenser(question: str, history: Sequence[Turn]) -> str:
        seen.append((question, tuple(history)))
        return "What are the pitfalls of funnel plots?"

    history = (Turn("What is a funnel plot?", "A chart for comparing providers [1]."),)
    default = engine.ask("what are the pitfalls?", history=history, backend="recording-followup")
    assert "funnel" in default.standalone_question.lower(), "the default rewrite carries the earlier topic"
    original, engine.condenser = engine.condenser, condenser
    try:
        answer = engine.ask("what are the pitfalls?", history=history, backend="recording-followup")
        plain = engine.ask("What is a run chart?", backend="recording-followup")
    finally:
        engine.condenser = original
    assert seen == [("what are the pitfalls?", history)], "the condenser gets the question and the history"
    assert answer.question == "what are the pitfalls?"
    assert answer.standalone_question == "What are the pitfalls of funnel plots?"
    assert recorder.calls[-2][0] == answer.standalone_question, (
        "retrieval and answer use the standalone question"
    )
    assert plain.standalone_question == "What is a run chart?", "no history, no rewrite"


def test_retrieval_settings_and_modes(tmp_path, embedder):
    settings = Settings(retrieval=RetrievalSettings(rerank=False, per_doc_cap=1, k=3)).with_index_dir(
        tmp_path / "i"
    )
    recorder = Recording()
    guide = ChangeGuide(settings, embedder)
    try:
        guide.ingest([CORPUS / name for name in (*LIBRARY[:2], LATER[0])])
        guide.register_generator(recorder)
        guide.ask("How do I read a run chart?", backend="recording", retriever="bm25")
        _, passages = recorder.calls[-1]
        assert len(passages) == 3 and len({p.chunk.doc_id for p in passages}) == 3, "cap 1: three documents"
        assert all(p.rerank_score is None and p.dense_score is None for p in passages), (
            "bm25 mode without the second stage: no cosine, no rerank score"
        )
    finally:
        guide.close()


def test_remove_by_id_or_source_and_unknown(tmp_path, embedder):
    guide = ChangeGuide(Settings().with_index_dir(tmp_path / "index"), embedder)
    try:
        guide.ingest([CORPUS / name for name in LATER])
        lean, kotter = (next(r for r in guide.documents() if r.source.endswith(n)) for n in LATER)
        assert guide.remove(lean.doc_id).doc_id == lean.doc_id
        assert guide.remove(str(CORPUS / LATER[1])).doc_id == kotter.doc_id, "a source path works too"
        assert guide.documents() == [] and guide.stats().chunks == 0
        with pytest.raises(DocumentNotFoundError, match="docs list"):
            guide.remove("no-such-document")
    finally:
        guide.close()


def _answers_of_each_state(folder, embedder, question: str) -> list[str]:
    """The answer to `question` before, after each document of LATER is added, and after the first is removed."""
    guide = ChangeGuide(Settings().with_index_dir(folder), embedder)
    try:
        guide.ingest([CORPUS / LIBRARY[0], CORPUS / LIBRARY[1]])
        texts = [guide.ask(question).text]
        for name in LATER:
            guide.ingest([CORPUS / name])
            texts.append(guide.ask(question).text)
        guide.remove(str(CORPUS / LATER[0]))
        texts.append(guide.ask(question).text)
        return texts
    finally:
        guide.close()


def test_threads_ask_while_another_ingests(tmp_path, embedder):
    guide = ChangeGuide(Settings().with_index_dir(tmp_path / "index"), embedder)
    guide.ingest([CORPUS / LIBRARY[0], CORPUS / LIBRARY[1]])
    question = "What is a run chart and how do I read one?"
    expected = guide.ask(question)
    errors: list[BaseException] = []
    answers = []
    start = threading.Barrier(4)

    def asker() -> None:
        start.wait()
        try:
            for _ in range(4):
                answers.append(guide.ask(question))
        except BaseException as exc:  # any failure in a thread fails the test below
            errors.append(exc)

    threads = [threading.Thread(target=asker) for _ in range(3)]
    for t in threads:
        t.start()
    start.wait()
    report = guide.ingest([CORPUS / name for name in LATER])
    guide.remove(str(CORPUS / LATER[0]))
    for t in threads:
        t.join(timeout=300)
    try:
        assert not errors, f"asking while the library changes raised: {errors!r}"
        assert len(answers) == 12 and len(report.added) == len(LATER)
        for answer in answers:
            assert not answer.abstained and answer.citations, "every answer is a full answer"
            for citation in answer.citations:
                assert (
                    guide.index.document_text(citation.doc_id)[citation.start : citation.end]
                    == citation.excerpt
                )
        # Every answer is the answer of one whole state of the library: before, after each commit of
        # the batch, or after the removal. (The new documents are about other topics, but they move
        # the keyword statistics the rankers read, so the states may answer differently.) The states'
        # answers come from a second index taken through the same changes one at a time.
        states = _answers_of_each_state(tmp_path / "replay", embedder, question)
        assert states[0] == expected.text, "the replay starts from the same library"
        assert {a.text for a in answers} <= set(states), (
            "an answer given while the library changed matches no whole state of it"
        )
        assert guide.ask(question).text == states[-1], (
            "after the changes it answers as the replay's last state"
        )
    finally:
        guide.close()


def test_the_engine_lock_makes_a_writer_wait_for_readers():
    lock = ReadWriteLock()
    log: list[str] = []
    reading = threading.Event()
    release = threading.Event()

    def reader() -> None:
        with lock.read():
            log.append("read-start")
            reading.set()
            release.wait(timeout=10)
            log.append("read-end")

    def writer() -> None:
        reading.wait(timeout=10)
        with lock.write():
            log.append("write")

    threads = [threading.Thread(target=reader), threading.Thread(target=writer)]
    for t in threads:
        t.start()
    reading.wait(timeout=10)
    writer_thread = threads[1]
    writer_thread.join(timeout=0.5)
    assert writer_thread.is_alive(), "the writer must wait while a reader holds the lock"
    release.set()
    for t in threads:
        t.join(timeout=10)
    assert log == ["read-start", "read-end", "write"], f"the writer waits for the reader: {log}"
