"""The evaluation runner: ask every question of the engine and measure what comes back.

It drives the same `ChangeGuide.ask` the app and the CLI use. The only thing it adds is an
observer on the engine's second stage, so the ranking metrics see the full reranked candidate
list (the engine hands the answerer only k passages, too few distinct documents for hit@10).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rag.config import Settings
from rag.errors import ChangeGuideError, EmptyLibraryError, QuestionSetError
from rag.evals import metrics
from rag.evals.metrics import RANK_DEPTH, CitationCheck, QuestionResult
from rag.evals.questions import Question, load_questions, resolve_gold
from rag.types import Answer, ScoredChunk

if TYPE_CHECKING:
    from rag.engine import ChangeGuide
    from rag.evals.pubmedqa import PubMedRecord
    from rag.index.embedding import Embedder

Dataset = Literal["jsonl", "pubmedqa"]
DATASETS: tuple[Dataset, ...] = ("jsonl", "pubmedqa")


@dataclass(frozen=True)
class RunOptions:
    """What to evaluate and how; `None` means the engine's setting."""

    questions: Path
    dataset: Dataset = "jsonl"
    docs: tuple[Path, ...] = ()  # build a temporary index from these instead of opening settings.index.dir
    backend: str | None = None
    retriever: str | None = None
    k: int | None = None
    limit: int | None = None
    progress: bool = True


def load_question_set(options: RunOptions) -> tuple[list[Question], list[PubMedRecord]]:
    """The questions to ask and, for PubMedQA, its records (whose documents make the index).

    Raises:
        QuestionSetError: the file is missing or invalid.
    """
    if options.dataset == "pubmedqa":
        from rag.evals.pubmedqa import load_pubmedqa, to_questions

        records = load_pubmedqa(options.questions, limit=options.limit)
        return to_questions(records), records
    if options.dataset != "jsonl":
        raise QuestionSetError(f"unknown dataset {options.dataset!r}; choose one of {', '.join(DATASETS)}")
    questions = load_questions(options.questions)
    return (questions[: options.limit] if options.limit else questions), []


@contextmanager
def prepared_engine(
    settings: Settings,
    options: RunOptions,
    records: Sequence[PubMedRecord],
    embedder: Embedder | None = None,
) -> Iterator[tuple[ChangeGuide, dict[str, Any]]]:
    """The engine to evaluate and a description of its index (built in a temporary folder if needed).

    With `options.docs` or PubMedQA records the index is built fresh and deleted afterwards;
    otherwise the existing index at `settings.index.dir` is opened (never created).

    Raises:
        IndexNotFoundError: no index at settings.index.dir.
        FingerprintMismatchError: that index was built with other settings.
    """
    from rag.engine import ChangeGuide
    from rag.index.store import Index

    if not options.docs and not records:
        Index.open(settings, create=False).close()  # a typo in --index must not create an empty index
        engine = ChangeGuide(settings, embedder)
        try:
            yield engine, {"index": str(settings.index.dir), "built": False}
        finally:
            engine.close()
        return
    with tempfile.TemporaryDirectory(prefix="changeguide-eval-") as tmp:
        paths = list(options.docs)
        if records:
            from rag.evals.pubmedqa import write_documents

            paths = write_documents(records, Path(tmp) / "docs")
        engine = ChangeGuide(settings.with_index_dir(Path(tmp) / "index"), embedder)
        try:
            report = engine.ingest(paths, progress=_ingest_progress(options.progress))
            info = {
                "index": "temporary",
                "built": True,
                "docs": [str(p) for p in options.docs] or f"{len(paths)} PubMedQA documents",
                "added": len(report.added),
                "failed": [list(f) for f in report.failed],
                "ingest_seconds": round(report.seconds, 2),
            }
            yield engine, info
        finally:
            engine.close()


def _ingest_progress(enabled: bool) -> Callable[[Any], None] | None:
    if not enabled:
        return None
    from tqdm import tqdm

    bar: tqdm | None = None

    def progress(event: Any) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=event.total, desc="ingest", unit="file", file=sys.stderr, disable=None)
        if event.finished:
            bar.update(1)
            if event.index == event.total:
                bar.close()

    return progress


class _DocumentTexts:
    """Stored document texts, read once each (excerpts are checked against them)."""

    def __init__(self, engine: ChangeGuide) -> None:
        self.engine = engine
        self.cache: dict[str, str | None] = {}

    def get(self, doc_id: str) -> str | None:
        if doc_id not in self.cache:
            try:
                self.cache[doc_id] = self.engine.index.document_text(doc_id)
            except (KeyError, ChangeGuideError):  # removed since it was cited: not verbatim
                self.cache[doc_id] = None
        return self.cache[doc_id]


def ask_all(
    engine: ChangeGuide, questions: Sequence[Question], options: RunOptions
) -> tuple[list[QuestionResult], dict[str, list[str]]]:
    """Ask every question; returns a result per question and the gold sources found in no document.

    Raises:
        EmptyLibraryError: the library is empty.
        BackendUnavailableError: the backend is unknown or not installed.
    """
    from tqdm import tqdm

    backend = options.backend or engine.settings.llm.backend
    engine.generator(backend)  # fail once, up front, for an unknown or missing backend
    documents = [(d.doc_id, d.source) for d in engine.documents()]
    if not documents:
        raise EmptyLibraryError("the index holds no documents: nothing to evaluate against.")
    texts = _DocumentTexts(engine)
    generative = backend != "extractive"
    results: list[QuestionResult] = []
    unresolved: dict[str, list[str]] = {}
    bar = tqdm(questions, desc="eval", unit="q", file=sys.stderr, disable=None if options.progress else True)
    try:
        for q in bar:
            gold, missing = resolve_gold(q.gold_sources, documents)
            if missing:
                unresolved[q.id] = missing
            try:
                answer = engine.ask(
                    q.question, history=q.turns, k=options.k, backend=backend, retriever=options.retriever
                )
            except ChangeGuideError as exc:
                results.append(_failed(q, gold, missing, f"{type(exc).__name__}: {exc}"))
                continue
            ranked = list(answer.ranking or answer.retrieved)
            results.append(_result(q, answer, ranked, gold, missing, texts, generative))
    finally:
        bar.close()
    return results, unresolved


def _question_fields(q: Question, gold: set[str], missing: list[str]) -> dict[str, Any]:
    """The fields of a result that come from the question itself, asked or not."""
    return {
        "id": q.id,
        "question": q.question,
        "tags": q.tags,
        "answerable": q.answerable,
        "style": q.style,
        "gold_doc_ids": tuple(sorted(gold)),
        "missing_gold": tuple(missing),
        "gold_phrases": q.gold_phrases,
        "reference_answer": q.reference_answer,
        "expected_decision": q.expected_decision,
        "history_turns": len(q.history),
    }


def _failed(q: Question, gold: set[str], missing: list[str], error: str) -> QuestionResult:
    return QuestionResult(**_question_fields(q, gold, missing), error=error)


def _result(
    q: Question,
    answer: Answer,
    ranked: Sequence[ScoredChunk],
    gold: set[str],
    missing: list[str],
    texts: _DocumentTexts,
    generative: bool,
) -> QuestionResult:
    ranking = metrics.distinct(item.chunk.doc_id for item in ranked)[:RANK_DEPTH]
    source_of = {item.chunk.doc_id: str(item.chunk.meta.get("source", "")) for item in ranked}
    checks = []
    for c in answer.citations:
        text = texts.get(c.doc_id)
        checks.append(
            CitationCheck(
                n=c.n,
                doc_id=c.doc_id,
                source=c.source,
                title=c.title,
                excerpt=c.excerpt,
                start=c.start,
                end=c.end,
                score=float(c.score),
                verified=c.verified,
                gold=c.doc_id in gold,
                verbatim=text is not None and bool(c.excerpt) and c.excerpt in text,
                span_exact=text is not None and text[c.start : c.end] == c.excerpt,
            )
        )
    return QuestionResult(
        **_question_fields(q, gold, missing),
        standalone_question=answer.standalone_question,
        answer=answer.text,
        abstained=answer.abstained,
        backend=answer.backend,
        ranking=tuple(ranking),
        passage_docs=tuple(metrics.distinct(p.chunk.doc_id for p in answer.retrieved)),
        ranking_sources=tuple(source_of[d] for d in ranking),
        citations=tuple(checks),
        rouge_l_f1=metrics.rouge_l_f1(answer.text, q.reference_answer) if q.reference_answer else None,
        decision=metrics.decision_of(answer.text) if generative and q.expected_decision else None,
        latency_ms=float(answer.timings_ms.get("total", 0.0)),
        timings_ms=dict(answer.timings_ms),
        notice=answer.notice,
    )


def result_row(result: QuestionResult) -> dict[str, Any]:
    """One question as a JSON-ready row, with its derived figures."""
    row = dataclasses.asdict(result)
    gold = set(result.gold_doc_ids)
    row["gold_rank"] = result.gold_rank
    row["hit@5"] = bool(metrics.hit_at(result.ranking, gold, 5)) if gold else None
    row["gold_cited"] = result.gold_cited
    row["gold_in_passages"] = result.gold_in_passages if gold else None
    row["phrase_hit"] = result.phrase_hit
    return row


def build_report(
    results: Sequence[QuestionResult],
    engine: ChangeGuide,
    options: RunOptions,
    index_info: dict[str, Any],
    unresolved: dict[str, list[str]],
    started: datetime,
    seconds: float,
) -> dict[str, Any]:
    """report.json as a dict: headline metrics, per-tag figures, config and one row per question."""
    settings = engine.settings
    backend = options.backend or settings.llm.backend
    generative = backend != "extractive"
    report = metrics.aggregate(results, generative=generative)
    report["per_tag"] = metrics.per_tag(results, generative=generative)
    report["per_style"] = metrics.per_style(results, generative=generative)
    report["index_fingerprint"] = engine.index.fingerprint
    report["reranker_fingerprint"] = engine.reranker_fingerprint
    report["config"] = {
        "dataset": options.dataset,
        "questions": str(options.questions),
        "limit": options.limit,
        "backend": backend,
        "retriever": options.retriever or settings.retrieval.mode,
        "k": options.k or settings.retrieval.k,
        "rank_depth": RANK_DEPTH,
        "index": index_info,
        "started_at": started.isoformat(timespec="seconds"),
        "seconds": round(seconds, 1),
        # Secrets never reach a report: the key and the app password are left out.
        "settings": settings.model_dump(mode="json", exclude={"llm": {"api_key"}, "app": {"password"}}),
        "fingerprint_details": settings.fingerprint_details(),
    }
    report["unresolved_gold_sources"] = unresolved
    report["questions"] = [result_row(r) for r in results]
    return json.loads(json.dumps(report))  # tuples become lists: the dict equals report.json as read back


def run_evaluation(
    settings: Settings, options: RunOptions, embedder: Embedder | None = None
) -> dict[str, Any]:
    """Load the questions, prepare the index, ask everything and return report.json as a dict.

    Raises:
        QuestionSetError, IndexNotFoundError, EmptyLibraryError, BackendUnavailableError,
        FingerprintMismatchError: with messages that say how to fix them.
    """
    questions, records = load_question_set(options)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    with prepared_engine(settings, options, records, embedder) as (engine, index_info):
        results, unresolved = ask_all(engine, questions, options)
        return build_report(
            results, engine, options, index_info, unresolved, started, time.perf_counter() - t0
        )
