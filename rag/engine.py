"""`ChangeGuide`: the one facade the CLI, the app and the evaluation runner use.

It opens the index and the embedding model once, and is safe to share between threads
(the Streamlit sessions) and between processes sharing one library: each question first catches
up with changes other processes committed (`Index.refresh`), then reads one consistent view;
ingestion embeds outside every lock and commits document by document.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rag.answer.locate import locate
from rag.config import Settings
from rag.errors import (
    BackendUnavailableError,
    DocumentNotFoundError,
    EmptyLibraryError,
    InvalidQuestionError,
    LibraryChangedError,
    VectorStoreError,
    VectorStoreUnavailableError,
)
from rag.index.embedding import Embedder
from rag.index.locking import ReadWriteLock
from rag.retrieve.dense import CachedEmbedder
from rag.retrieve.diversity import cap_per_document, collapse_duplicates, merge_repeated_quotes, with_also_in
from rag.retrieve.hybrid import MODES, HybridRetriever, Mode
from rag.retrieve.rerank import FeatureReranker, FusionOrder, Reranker
from rag.types import Answer, Citation, DocumentRef, Filters, IngestStatus, ScoredChunk, Turn

if TYPE_CHECKING:
    from rag.answer.base import Generator
    from rag.index.store import DocumentRecord, IndexStats
    from rag.ingest.pipeline import IngestEvent, IngestReport

# The optional backends and the pip extra each needs.
LLM_BACKENDS = {"openai": "openai", "ollama": "ollama"}
NEAREST_DOCUMENTS = 5  # documents listed when the answerer abstains

Condenser = Callable[[str, Sequence[Turn]], str]


def _default_condenser(question: str, history: Sequence[Turn]) -> str:
    from rag.answer.rewrite import rewrite_followup

    return rewrite_followup(question, history)


class ChangeGuide:
    """Ask questions of an indexed library; add and remove its documents.

    Seams for the optional LLM layer: `condenser` turns a follow-up into a standalone question
    (the deterministic rewrite by default); a backend with a `condense(question, history)` method
    (the LLM backends' condensing prompt) condenses instead while it answers; and
    `register_generator` adds answer backends next to the built-in extractive one.
    """

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        from rag.index.store import Index

        if embedder is None:
            from rag.index.embedding import make_embedder

            embedder = make_embedder(settings.embedding)
        self.settings = settings
        self._ingest_embedder = embedder  # ingestion embeds new texts only: no cache
        self.embedder = CachedEmbedder(embedder)
        self.index = Index.open(settings)
        self.retriever = HybridRetriever(self.index, self.embedder, settings.retrieval.mode)
        self.reranker: Reranker = _make_reranker(settings, self.index, self.embedder)
        self.condenser: Condenser = _default_condenser
        self._generators: dict[str, Generator] = {}
        self._generators_lock = threading.Lock()
        self._lock = ReadWriteLock()

    # -- answers -------------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        *,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        k: int | None = None,
        backend: str | None = None,
        retriever: str | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> Answer:
        """Answer `question` from the library with cited excerpts.

        Args:
            question: the user's question, possibly a follow-up to `history`.
            history: earlier turns of the conversation, oldest first.
            filters: restrict the search to some documents, topics, formats or years.
            k: passages handed to the answerer (default settings.retrieval.k).
            backend: "extractive", "openai" or "ollama" (default settings.llm.backend).
            retriever: "hybrid", "dense" or "bm25" (default settings.retrieval.mode).
            on_token: called with each piece of text as a generative backend streams it.

        Raises:
            InvalidQuestionError: empty or too long a question, or a bad k / retriever.
            EmptyLibraryError: the index holds no documents.
            BackendUnavailableError: the backend is unknown, not installed or not configured.
            VectorStoreUnavailableError: the Chroma server the settings name does not answer.
            LibraryChangedError: other processes changed the library under the question twice running.
        """
        started = time.perf_counter()
        text = self._validate(question)
        k = self.settings.retrieval.k if k is None else k
        if k < 1:
            raise InvalidQuestionError(f"k must be at least 1, got {k}.")
        if retriever is not None and retriever not in MODES:
            raise InvalidQuestionError(f"Unknown retriever {retriever!r}; choose one of {', '.join(MODES)}.")
        generator = self.generator(backend or self.settings.llm.backend)
        # A generative backend condenses follow-ups with its own model (`condense`); else the engine's rewrite.
        condense: Condenser = getattr(generator, "condense", self.condenser)
        standalone = condense(text, history) if history else text
        mode: Mode | None = retriever  # type: ignore[assignment]  # checked against MODES above
        passages, ranked, fingerprint, t0, t1, t2 = self._retrieve(standalone, filters, k, mode)
        # The answer reads only the passages in hand, so a slow LLM server never holds up an ingest.
        draft = generator.generate(standalone, passages, on_token=on_token)
        answer_text, sentences, citations = merge_repeated_quotes(
            draft.text, draft.sentences, self._finish_citations(draft.citations)
        )
        t3 = time.perf_counter()
        return Answer(
            question=text,
            standalone_question=standalone,
            text=answer_text,
            abstained=draft.abstained,
            backend=generator.name,
            citations=citations,
            sentences=sentences,
            retrieved=tuple(passages),
            ranking=tuple(ranked),
            nearest_documents=_nearest_documents(ranked) if draft.abstained else (),
            timings_ms={
                "retrieve": (t1 - t0) * 1000,
                "rerank": (t2 - t1) * 1000,
                "answer": (t3 - t2) * 1000,
                "total": (t3 - started) * 1000,
            },
            index_fingerprint=fingerprint,
            notice=draft.notice,
            reranker_fingerprint=self.reranker_fingerprint,
        )

    def _retrieve(
        self, standalone: str, filters: Filters | None, k: int, mode: Mode | None
    ) -> tuple[list[ScoredChunk], list[ScoredChunk], str, float, float, float]:
        """Candidates, their ranking and the k passages, all read from one view of the library.

        The view is first brought up to date with other processes' changes. A passage whose
        document another process removed meanwhile (its chunk or vector gone) sends the question
        round once more on a fresh view, so no answer mixes two states of the library.
        """
        for attempt in range(2):
            if self.index.refresh(wait=attempt > 0):
                self._forget_removed()
            try:
                with self._lock.read(), self.index.reading():
                    if self._is_empty():
                        raise EmptyLibraryError(
                            "The library is empty: add documents first with `changeguide ingest PATH...` "
                            "(or the app's upload), then ask again."
                        )
                    t0 = time.perf_counter()
                    candidates = self.retriever.search(
                        standalone, self.settings.retrieval.candidates, filters, mode=mode
                    )
                    t1 = time.perf_counter()
                    ranked = self.reranker.rerank(standalone, candidates, len(candidates))
                    # A passage repeated in another document (yearly reports) is handed over once.
                    links = self.index.duplicate_links([r.chunk.id for r in ranked])
                    unique, _ = collapse_duplicates(ranked, links)
                    passages = cap_per_document(unique, k, self.settings.retrieval.per_doc_cap)
                    t2 = time.perf_counter()
                    return passages, ranked, self.index.fingerprint, t0, t1, t2
            except VectorStoreUnavailableError:
                raise  # the Chroma server is down: asking again will not help, its message says what will
            except (KeyError, VectorStoreError) as exc:
                if attempt:
                    raise LibraryChangedError(
                        "The library changed twice while this question was answered (documents were "
                        "being added or removed); ask again in a moment."
                    ) from exc
        raise AssertionError("unreachable")

    def passages(self, question: str, *, history: Sequence[Turn] = ()) -> tuple[str, list[ScoredChunk]]:
        """The standalone question and the passages `ask` would hand the answerer (for training and
        diagnostics: training/fit_abstention.py reads the abstention features from them)."""
        text = self._validate(question)
        standalone = self.condenser(text, history) if history else text
        return standalone, self._retrieve(standalone, None, self.settings.retrieval.k, None)[0]

    @property
    def reranker_fingerprint(self) -> str:
        """The neural reranker's fingerprint (its weights' SHA-256, 12 hex digits); "" when it is off."""
        return str(getattr(self.reranker, "fingerprint", ""))

    def _forget_removed(self) -> None:
        """After another process's change: drop per-document caches of documents no longer there."""
        forget = getattr(self.reranker, "forget_others", None)
        if forget is not None:
            forget({r.doc_id for r in self.index.documents()})

    def _finish_citations(self, citations: tuple[Citation, ...]) -> tuple[Citation, ...]:
        """The answerer's citations with the pages and section of each excerpt itself (a chunk may start
        pages or slides earlier) and `also_in`: other documents whose near-duplicate passage holds the quote."""
        if not citations:
            return citations
        with self._lock.read():
            spans = {d: self.index.document_spans(d) for d in {c.doc_id for c in citations}}
            citations = tuple(locate(c, *spans[c.doc_id]) if spans[c.doc_id] else c for c in citations)
            links = self.index.duplicate_links([c.chunk_id for c in citations])
            if not links:
                return citations
            other_ids = list(dict.fromkeys(x.other_id for found in links.values() for x in found))
            try:
                partners = {c.id: c for c in self.index.get_chunks(other_ids)}
            except (
                KeyError
            ):  # a linked document went in the meantime: say nothing rather than something stale
                return citations
            titles = {
                r.doc_id: (r.title, r.source)
                for d in {c.doc_id for c in partners.values()}
                if (r := self.index.get_document(d)) is not None
            }
        return with_also_in(citations, links, partners, titles)

    def warm(self) -> None:
        """Fill the per-document caches (the reranker's document profiles, the keyword scale) so
        first questions are fast.

        Optional: a long-running app can call it once after building the engine.
        """
        warm = getattr(self.reranker, "warm", None)
        with self._lock.read():
            if warm is not None:
                warm()
            if not self._is_empty():
                self.index.keyword_scale()

    def _validate(self, question: str) -> str:
        text = (question or "").strip()
        if not text:
            raise InvalidQuestionError("The question is empty: type a question about your library.")
        limit = self.settings.answer.max_question_chars
        if len(text) > limit:
            raise InvalidQuestionError(
                f"The question is {len(text):,} characters long; the limit is {limit:,}. "
                "Shorten it (or raise CHANGEGUIDE_ANSWER__MAX_QUESTION_CHARS)."
            )
        return text

    def _is_empty(self) -> bool:
        return not self.index.documents()  # not stats(): that also measures the folder on disk

    # -- answer backends -----------------------------------------------------------------------

    def register_generator(self, generator: Generator) -> None:
        """Make `generator` available as `ask(..., backend=generator.name)`."""
        with self._generators_lock:
            self._generators[generator.name] = generator

    def generator(self, name: str) -> Generator:
        """The answer backend called `name`, built on first use.

        Raises:
            BackendUnavailableError: unknown name, or the optional backend is not installed.
        """
        with self._generators_lock:
            if name in self._generators:
                return self._generators[name]
        if name == "extractive":
            from rag.answer.extractive import ExtractiveGenerator

            built: Generator = ExtractiveGenerator(self.embedder, self.settings.answer)
        elif name in LLM_BACKENDS:
            built = self._make_llm_generator(name)
        else:
            known = ", ".join(["extractive", *LLM_BACKENDS])
            raise BackendUnavailableError(f"Unknown answer backend {name!r}; choose one of {known}.")
        with self._generators_lock:
            return self._generators.setdefault(name, built)

    def _make_llm_generator(self, name: str) -> Generator:
        try:
            from rag.llm.factory import make_generator
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith("rag.llm"):
                raise
            raise BackendUnavailableError(
                f"The {name} backend is not available in this installation. "
                f"Install it with `pip install '.[{LLM_BACKENDS[name]}]'`, or use --backend extractive."
            ) from exc
        return make_generator(name, self.settings, self.embedder, self.generator("extractive"))

    # -- the library ---------------------------------------------------------------------------

    def ingest(
        self,
        paths: Sequence[Path],
        progress: Callable[[IngestEvent], None] | None = None,
        label: str = "changeguide ingest",
    ) -> IngestReport:
        """Add or update the documents at `paths` (files or folders); see `ingest_paths`.

        Questions go on meanwhile: files are parsed and embedded outside every lock, and each
        document's commit holds up readers only for that commit. A second ingest (from any process)
        queues behind a running one.
        """
        from rag.ingest.pipeline import ingest_paths

        with self._lock.read():  # only `close` excludes it
            return ingest_paths(
                [Path(p) for p in paths],
                self.index,
                self._ingest_embedder,
                self.settings,
                progress=progress,
                label=label,
            )

    def ingest_status(self) -> IngestStatus:
        """The library's running ingest (from any process) and how many batches wait behind it."""
        from rag.ingest.status import read_status

        return read_status(self.index.path)

    def remove(self, doc_id_or_source: str) -> DocumentRecord:
        """Remove one document, named by its id or the path it was ingested from.

        Raises:
            DocumentNotFoundError: no document has that id or source.
        """
        with self._lock.read():  # the index takes its own lock, for the commit only
            self.index.refresh(wait=True)
            record = self._find(doc_id_or_source)
            self.index.remove_document(record.doc_id)
            return record

    def _find(self, doc_id_or_source: str) -> DocumentRecord:
        record = self.index.get_document(doc_id_or_source) or self.index.document_by_source(doc_id_or_source)
        if record is None:
            resolved = str(Path(doc_id_or_source).expanduser().resolve())
            record = self.index.document_by_source(resolved)
        if record is None:
            raise DocumentNotFoundError(
                f"No document with id or source {doc_id_or_source!r}; "
                "`changeguide docs list` shows the ids and sources."
            )
        return record

    def documents(self) -> list[DocumentRecord]:
        """Every document in the library (as of the latest change, from whichever process)."""
        self.index.refresh()
        with self._lock.read():
            return self.index.documents()

    def stats(self) -> IndexStats:
        """Counts, fingerprint and size on disk of the index."""
        self.index.refresh()
        with self._lock.read():
            return self.index.stats()

    def close(self) -> None:
        """Release the index (the engine cannot be used afterwards)."""
        with self._lock.write():
            self.index.close()


def _make_reranker(settings: Settings, index, embedder: CachedEmbedder) -> Reranker:
    """The second stage the settings ask for: features, then (by default) the cross-encoder.

    Raises:
        RerankerModelError: the neural stage is on and its shipped weights are missing or damaged.
    """
    retrieval = settings.retrieval
    first: Reranker = FeatureReranker(index, embedder) if retrieval.rerank else FusionOrder()
    if not retrieval.neural:
        return first
    from rag.retrieve.cross_encoder import NeuralReranker, shared_scorer

    return NeuralReranker(first, shared_scorer(threads=retrieval.neural_threads), retrieval.neural_passages)


def _nearest_documents(ranked: Sequence[ScoredChunk]) -> tuple[DocumentRef, ...]:
    """Distinct documents of the ranked passages, best first, for an abstention."""
    refs: dict[str, DocumentRef] = {}
    for item in ranked:
        chunk = item.chunk
        if chunk.doc_id in refs:
            continue
        refs[chunk.doc_id] = DocumentRef(
            doc_id=chunk.doc_id,
            title=str(chunk.meta.get("title", "")),
            source=str(chunk.meta.get("source", "")),
            score=item.score,
        )
        if len(refs) == NEAREST_DOCUMENTS:
            break
    return tuple(refs.values())
