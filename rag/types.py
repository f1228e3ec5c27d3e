"""The small, frozen data types that flow through the pipeline.

SourceDocument -> Chunk -> ScoredChunk -> Citation -> Answer.
Ids are content hashes, so re-ingesting the same text is a no-op.
Change values with `dataclasses.replace`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Format = Literal["pdf", "docx", "pptx", "xlsx", "csv", "html", "markdown", "text"]


def content_hash(*parts: str, length: int = 16) -> str:
    """Hex sha256 of the parts (joined with NUL), shortened to `length` characters."""
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()
    return digest[:length]


@dataclass(frozen=True)
class PageSpan:
    """A physical page (1-based) and its [start, end) character span in the document text."""

    page: int
    start: int
    end: int


@dataclass(frozen=True)
class SectionSpan:
    """A heading path (e.g. "Methods > Sampling") and its [start, end) span in the document text."""

    path: str
    start: int
    end: int


@dataclass(frozen=True)
class SourceDocument:
    """One extracted document: its full text plus where pages and sections lie in that text.

    `doc_id` is a hash of the extracted text, so the same content always gets the same id.
    `meta` holds optional bibliographic fields: authors, year, url, licence, topics.
    """

    doc_id: str
    title: str
    source: str
    format: Format
    text: str
    pages: tuple[PageSpan, ...] = ()
    sections: tuple[SectionSpan, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)
    page_count: int | None = None
    size_bytes: int = 0
    ingested_at: str = ""


@dataclass(frozen=True)
class Chunk:
    """A verbatim slice `document.text[start:end]` with its place in the document.

    `id` is a hash of the document id, the span and the text.
    `meta` carries document-level fields copied for filtering and display
    (title, source, format, topics, year).
    """

    id: str
    doc_id: str
    text: str
    start: int
    end: int
    page: int | None = None
    page_end: int | None = None
    section: str | None = None
    ordinal: int = 0
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScoredChunk:
    """A chunk with the score that ranked it and, for diagnostics, each stage's score."""

    chunk: Chunk
    score: float
    dense_score: float | None = None
    keyword_score: float | None = None  # BM25 over the library's scale (Index.keyword_scale)
    rerank_score: float | None = None
    neural_score: float | None = None  # the cross-encoder's logit, for the passages it read


@dataclass(frozen=True)
class Citation:
    """Citation `[n]`: a verbatim excerpt of a document and where it lies.

    `excerpt == document.text[start:end]` always holds; `sentence_start`/`sentence_end`
    locate the cited sentence inside the excerpt's document span (for highlighting).
    `also_in` lists other documents that hold the same passage (near-duplicates collapsed into
    this one quote; their `score` is the passages' estimated similarity).
    """

    n: int
    chunk_id: str
    doc_id: str
    title: str
    source: str
    excerpt: str
    start: int
    end: int
    score: float
    page: int | None = None
    page_end: int | None = None
    section: str | None = None
    sentence_start: int | None = None
    sentence_end: int | None = None
    verified: bool = True
    also_in: tuple[DocumentRef, ...] = ()
    ocr: bool = False  # the excerpt is OCR text of a scanned page (chunk meta "ocr")


IntentKind = Literal["how-to", "pitfalls", "comparison", "definition", "number", "why", "general"]


@dataclass(frozen=True)
class QuestionIntent:
    """What a question asks for: its kinds of answer, the leading one first, and for a comparison
    the content terms of each side ("spread" vs "scale-up")."""

    kinds: tuple[IntentKind, ...] = ("general",)
    sides: tuple[tuple[str, ...], ...] = ()

    @property
    def primary(self) -> IntentKind:
        return self.kinds[0]


# "lead": a sentence that answers directly (shown first, as a paragraph); "point": a supporting
# point, shown under its source ('From "<title>":'). Generative answers are all "lead".
SentenceRole = Literal["lead", "point"]


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of an answer, the citation numbers it carries, whether they support it, and its
    role in the answer's layout."""

    text: str
    citations: tuple[int, ...] = ()
    verified: bool = True
    role: SentenceRole = "lead"


@dataclass(frozen=True)
class SourceGroup:
    """The supporting points of an answer quoted from one document, in their order in it."""

    doc_id: str
    title: str
    points: tuple[AnswerSentence, ...]


@dataclass(frozen=True)
class AnswerLayout:
    """How an answer reads: the lead sentences (the direct answer), then the points by source.

    Built from `Answer.sentences` and `Answer.citations` by `rag.answer.layout.answer_layout`, so
    the CLI, the app and exports lay out the same answer the same way.
    """

    lead: tuple[AnswerSentence, ...]
    groups: tuple[SourceGroup, ...] = ()


@dataclass(frozen=True)
class DocumentRef:
    """A pointer to a document, used to list the nearest documents when the answerer abstains."""

    doc_id: str
    title: str
    source: str
    score: float


@dataclass(frozen=True)
class KeySource:
    """One reference a document lists among its key sources, with the link a reader can follow.

    `url` is the link to follow: the URL the document gives, else `https://doi.org/<doi>`.
    In `SourceDocument.meta["key_sources"]` each one is stored as a dict {citation, doi?, url?}.
    """

    citation: str
    doi: str | None = None
    url: str | None = None

    def to_meta(self) -> dict[str, str]:
        """The JSON-ready dict kept in document meta (absent fields left out)."""
        fields = {"citation": self.citation, "doi": self.doi, "url": self.url}
        return {key: value for key, value in fields.items() if value}

    @staticmethod
    def all_in(meta: Mapping[str, Any] | None) -> tuple[KeySource, ...]:
        """The key sources kept in a document's meta (none when it lists none)."""
        entries = (meta or {}).get("key_sources") or ()
        if not isinstance(entries, list | tuple):
            return ()
        out = []
        for entry in entries:
            if isinstance(entry, Mapping) and entry.get("citation"):
                doi, url = entry.get("doi"), entry.get("url")
                out.append(
                    KeySource(str(entry["citation"]), str(doi) if doi else None, str(url) if url else None)
                )
        return tuple(out)


@dataclass(frozen=True)
class Filters:
    """Document-level restrictions on a search; empty means no restriction."""

    doc_ids: frozenset[str] = frozenset()
    topics: frozenset[str] = frozenset()
    formats: frozenset[str] = frozenset()
    year_min: int | None = None
    year_max: int | None = None

    def is_empty(self) -> bool:
        return (
            not (self.doc_ids or self.topics or self.formats)
            and self.year_min is None
            and self.year_max is None
        )


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation."""

    question: str
    answer: str = ""


@dataclass(frozen=True)
class Answer:
    """What `ask` returns: the answer text with `[n]` markers and everything needed to trust it."""

    question: str
    standalone_question: str
    text: str
    abstained: bool
    backend: str
    citations: tuple[Citation, ...] = ()
    sentences: tuple[AnswerSentence, ...] = ()
    retrieved: tuple[ScoredChunk, ...] = ()
    # Every reranked candidate, best first, before the per-document cap: the ranking that
    # evaluation scores (hit@10, nDCG@10 need more documents than the k passages answered from).
    ranking: tuple[ScoredChunk, ...] = ()
    nearest_documents: tuple[DocumentRef, ...] = ()
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    index_fingerprint: str = ""
    notice: str | None = None
    # The neural reranker's weights (first 12 hex digits of their SHA-256), "" when it is off.
    reranker_fingerprint: str = ""


@dataclass(frozen=True)
class IngestStatus:
    """The library's ingest as every process sees it (rag/ingest/status.py): the running batch, if
    any, and how many more wait behind it."""

    running: bool  # a batch holds the ingest lock right now
    label: str = ""  # what started it, e.g. "changeguide ingest" or "upload (3 files)"
    pid: int | None = None
    files_done: int = 0
    files_total: int = 0
    current: str = ""  # the file being worked on
    stage: str = ""
    chunks_done: int = 0
    rate: float = 0.0  # chunks embedded per second
    seconds_left: float | None = None
    started_at: str = ""
    updated_at: str = ""
    queued: int = 0  # batches waiting for this one to finish
    outcome: str = ""  # when finished: "added 3, updated 0, ..." or why it stopped
