"""The Evaluations page's logic: which question sets exist, running one with progress, past runs.

It drives the evaluation runner (`rag.evals.runner`) question by question so the page can show
progress, and writes runs where `changeguide eval` does (`data_dir/evals/<time>-<set>-<retriever>`),
so runs from the command line and from the app appear together.

Everything here is a librarian's: keeping question sets on the server, exporting everyone's
feedback (questions and comments), starting runs (which occupy the cores) and reading reports
(which hold the questions asked). Each function checks the visitor itself, so a reader's crafted
request is refused even though the page never shows them the controls.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.app.feedback import FeedbackStore, export_jsonl
from rag.app.roles import Visitor, require_librarian
from rag.app.uploads import safe_filename
from rag.config import Settings
from rag.errors import QuestionSetError
from rag.evals.compare import Delta, compare_reports
from rag.evals.questions import parse_questions
from rag.evals.report import HEADLINE, REPORT_JSON, fmt, load_report, write_report
from rag.evals.runner import Dataset, RunOptions, ask_all, build_report, load_question_set, prepared_engine

if TYPE_CHECKING:
    from rag.index.embedding import Embedder

REPO = Path(__file__).resolve().parents[2]
STARTER_SET = REPO / "evals" / "questions" / "starter.jsonl"
# The PubMedQA development set: next to the data folder, or where the project's machines keep it.
PUBMEDQA_FOLDERS = ("datasets/pubmedqa-pqal-dev",)
PUBMEDQA_SHARED = REPO.parent / "shared" / "datasets" / "pubmedqa-pqal-dev"
PUBMEDQA_DEFAULT_LIMIT = 50  # each PubMedQA record is a document to index: a full run takes long


@dataclass(frozen=True)
class QuestionSet:
    """A question set the page offers."""

    label: str
    path: Path
    dataset: Dataset = "jsonl"


def evals_dir(settings: Settings) -> Path:
    return Path(settings.app.data_dir) / "evals"


def questions_dir(settings: Settings) -> Path:
    """Where uploaded question sets and exported feedback are kept."""
    return evals_dir(settings) / "question-sets"


def question_sets(settings: Settings) -> list[QuestionSet]:
    """The starter set, PubMedQA dev (when present), and uploaded or exported sets, in that order."""
    found = []
    if STARTER_SET.is_file():
        found.append(QuestionSet("Starter questions (the starter library)", STARTER_SET))
    for folder in [Path(settings.app.data_dir) / f for f in PUBMEDQA_FOLDERS] + [PUBMEDQA_SHARED]:
        if (folder / "pqal_dev.json").is_file():
            found.append(QuestionSet("PubMedQA development set (builds its own index)", folder, "pubmedqa"))
            break
    folder = questions_dir(settings)
    if folder.is_dir():
        for path in sorted(folder.glob("*.jsonl")):
            kind = "Exported feedback" if path.stem == "feedback" else "Uploaded"
            found.append(QuestionSet(f"{kind}: {path.name}", path))
    return found


def save_question_set(name: str, content: bytes, settings: Settings, visitor: Visitor | None) -> Path:
    """Validate an uploaded JSONL question set and keep it for later runs.

    Raises:
        NotPermittedError: the visitor is not a librarian (nothing is written).
        QuestionSetError: not UTF-8, or invalid lines (the message lists them).
    """
    require_librarian(visitor, "keep question sets")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise QuestionSetError(f"{name} is not UTF-8 text: save it as UTF-8 and upload it again.") from exc
    parse_questions(text.splitlines(), name=name)  # raises with line-numbered errors
    stem = Path(safe_filename(name)).stem
    if stem == "feedback":  # that name belongs to the export
        stem = "feedback-uploaded"
    target = questions_dir(settings) / f"{stem}.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def export_feedback_set(
    store: FeedbackStore, settings: Settings, visitor: Visitor | None
) -> tuple[Path | None, int, int]:
    """Write the exportable feedback as `feedback.jsonl`; returns (path or None, exported, left out).

    Raises:
        NotPermittedError: the visitor is not a librarian (feedback is not read).
    """
    require_librarian(visitor, "export feedback")
    text, left_out = export_jsonl(store.items())
    exported = text.count("\n")
    if not exported:
        return None, 0, left_out
    target = questions_dir(settings) / "feedback.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target, exported, left_out


Progress = Callable[[int, int, str], None]  # (done, total, current question)


def run_question_set(
    settings: Settings,
    chosen: QuestionSet,
    *,
    visitor: Visitor | None,
    embedder: Embedder | None = None,
    backend: str | None = None,
    retriever: str | None = None,
    k: int | None = None,
    limit: int | None = None,
    progress: Progress | None = None,
) -> Path:
    """Evaluate `chosen` against the library (or its own index, for PubMedQA); returns the run folder.

    The run uses an engine of its own on the same index, so people chatting meanwhile are not
    slowed by the runner's instrumentation.

    Raises:
        NotPermittedError: the visitor is not a librarian (nothing is loaded or asked).
        ChangeGuideError: a bad question set, a missing index, an unavailable backend.
    """
    require_librarian(visitor, "run evaluations")
    options = RunOptions(
        questions=chosen.path,
        dataset=chosen.dataset,
        backend=backend,
        retriever=retriever,
        k=k,
        limit=limit,
        progress=False,
    )
    questions, records = load_question_set(options)
    if not questions:
        raise QuestionSetError(f"{chosen.path.name} holds no questions.")
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    results, unresolved = [], {}
    with prepared_engine(settings, options, records, embedder) as (engine, index_info):
        for i, question in enumerate(questions):
            if progress is not None:
                progress(i, len(questions), question.question)
            done, missing = ask_all(engine, [question], options)
            results += done
            unresolved.update(missing)
        report = build_report(
            results, engine, options, index_info, unresolved, started, time.perf_counter() - t0
        )
    if progress is not None:
        progress(len(questions), len(questions), "")
    retriever_name = report["config"]["retriever"]
    out = evals_dir(settings) / f"{started:%Y%m%d-%H%M%S}-{chosen.path.stem}-{retriever_name}"
    write_report(report, out)
    return out


@dataclass(frozen=True)
class Run:
    """A past evaluation run on disk."""

    name: str
    path: Path


def runs(settings: Settings) -> list[Run]:
    """Run folders holding a report.json, newest first."""
    folder = evals_dir(settings)
    if not folder.is_dir():
        return []
    found = [Run(p.name, p) for p in folder.iterdir() if (p / REPORT_JSON).is_file()]
    return sorted(found, key=lambda r: r.name, reverse=True)


def read_report(run: Run, visitor: Visitor | None) -> dict[str, Any]:
    """report.json of a run.

    Raises:
        NotPermittedError: the visitor is not a librarian (reports hold the questions people asked).
        ChangeGuideError: missing or unreadable.
    """
    require_librarian(visitor, "read evaluation reports")
    return load_report(run.path)


def headline_rows(report: dict[str, Any]) -> list[dict[str, str]]:
    """The headline figures as table rows (figures the run did not measure are left out)."""
    rows = []
    for section, key, label in HEADLINE:
        value = report.get(section, {}).get(key)
        if value is not None:
            rows.append({"Figure": label, "Value": fmt(value)})
    return rows


def tag_rows(report: dict[str, Any], figures: tuple[str, ...]) -> list[dict[str, Any]]:
    """One row per tag with the given per-tag figures (for the chart)."""
    return [
        {"tag": tag} | {f: values.get(f) for f in figures if isinstance(values.get(f), int | float)}
        for tag, values in sorted(report.get("per_tag", {}).items())
    ]


def question_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per question: what was asked, whether it was answered or abstained, and how well."""
    rows = []
    for q in report.get("questions", []):
        cited = [c.get("source", "").rsplit("/", 1)[-1] for c in q.get("citations", [])]
        rows.append(
            {
                "id": q.get("id"),
                "question": q.get("question"),
                "tags": ", ".join(q.get("tags", [])),
                "answerable": q.get("answerable"),
                "abstained": q.get("abstained"),
                "gold rank": q.get("gold_rank"),
                "gold cited": q.get("gold_cited"),
                "phrase hit": q.get("phrase_hit"),
                "cited": ", ".join(dict.fromkeys(cited)),
                "ms": round(q["latency_ms"]) if isinstance(q.get("latency_ms"), int | float) else None,
                "error": q.get("error") or "",
            }
        )
    return rows


def comparison_rows(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """Each figure in runs A and B with its change; `worse` marks a regression."""
    deltas: list[Delta] = compare_reports(a, b)
    return [
        {
            "figure": d.metric,
            "A": fmt(d.a),
            "B": fmt(d.b),
            "change": "n/a" if d.delta is None else f"{d.delta:+.3f}",
            "worse": d.worse,
        }
        for d in deltas
    ]


def report_summary(report: dict[str, Any]) -> str:
    """One line about a run: its questions, backend, retriever, k and index fingerprint."""
    config = report.get("config", {})
    return (
        f"{report.get('n_questions', len(report.get('questions', [])))} questions · "
        f"{config.get('backend', '?')} backend · {config.get('retriever', '?')} retrieval · k={config.get('k', '?')} · "
        f"index {report.get('index_fingerprint', '?')} · {config.get('started_at', '')}"
    )


def plots(run: Run) -> list[Path]:
    """The PNG plots written with a run."""
    return sorted(run.path.glob("*.png"))
