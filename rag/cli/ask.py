"""`changeguide ask "QUESTION"`: an answer with numbered, verbatim sources."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from rag.answer.display import clean
from rag.answer.layout import answer_layout, has_points, markers, source_heading
from rag.cli import EXIT_OK, add_index_argument
from rag.cli.history import load_history
from rag.config import Settings
from rag.errors import IndexNotFoundError, InvalidQuestionError
from rag.types import Filters, KeySource

if TYPE_CHECKING:
    from rag.engine import ChangeGuide
    from rag.types import Answer, AnswerSentence, Citation

WIDTH = 100  # wrap width of the readable output


def register(subparsers: argparse._SubParsersAction) -> None:
    ask = subparsers.add_parser(
        "ask",
        help="ask a question of the library",
        description="Answer a question with sentences quoted from the library, each with its source.",
    )
    ask.add_argument("question", metavar="QUESTION", help="the question, in quotes")
    add_index_argument(ask)
    ask.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    ask.add_argument(
        "--backend",
        choices=("extractive", "openai", "ollama"),
        help="answer backend (default: $CHANGEGUIDE_LLM__BACKEND or extractive)",
    )
    ask.add_argument(
        "--k",
        type=int,
        metavar="N",
        help=f"passages handed to the answerer (default {Settings().retrieval.k})",
    )
    ask.add_argument(
        "--doc",
        action="append",
        default=[],
        metavar="ID",
        help="search only this document (id, or the path it was ingested from); repeatable",
    )
    ask.add_argument(
        "--topic", action="append", default=[], metavar="T", help="search only this topic; repeatable"
    )
    ask.add_argument(
        "--history",
        type=Path,
        metavar="FILE",
        help="earlier turns of the conversation (a JSON list of {question, answer}, oldest first), "
        "so QUESTION can be a follow-up",
    )
    ask.set_defaults(func=run_ask)


def _check_question(question: str, settings: Settings) -> None:
    """Refuse an empty or over-long question before loading the model."""
    text = question.strip()
    if not text:
        raise InvalidQuestionError(
            'The question is empty: give one in quotes, e.g. changeguide ask "What is a run chart?"'
        )
    limit = settings.answer.max_question_chars
    if len(text) > limit:
        raise InvalidQuestionError(
            f"The question is {len(text):,} characters long; the limit is {limit:,}. Shorten it "
            "(or raise CHANGEGUIDE_ANSWER__MAX_QUESTION_CHARS)."
        )


def _resolve_docs(engine: ChangeGuide, wanted: list[str]) -> frozenset[str]:
    """Document ids for --doc values given as ids, ingested paths or file names."""
    if not wanted:
        return frozenset()
    records = engine.documents()
    ids = set()
    for value in wanted:
        resolved = str(Path(value).expanduser().resolve())
        matches = [
            r.doc_id
            for r in records
            if value in (r.doc_id, r.source, Path(r.source).name) or r.source == resolved
        ]
        if not matches:
            raise InvalidQuestionError(
                f"No document matches --doc {value!r}; `changeguide docs list` shows the ids and sources."
            )
        ids.update(matches)
    return frozenset(ids)


def open_engine(args: argparse.Namespace, settings: Settings) -> ChangeGuide:
    """The engine over an existing index, after the checks `ask` and `chat` share (--k, the index folder).

    Raises:
        InvalidQuestionError: --k below 1.
        IndexNotFoundError: no index at settings.index.dir.
    """
    from rag.engine import ChangeGuide

    if args.k is not None and args.k < 1:
        raise InvalidQuestionError(f"--k must be at least 1, got {args.k}.")
    index_dir = Path(settings.index.dir).expanduser()
    if not index_dir.exists():
        raise IndexNotFoundError(
            f"There is no index at {index_dir}. Build one with `changeguide ingest PATH... --index {index_dir}`."
        )
    return ChangeGuide(settings)


def search_filters(engine: ChangeGuide, args: argparse.Namespace) -> Filters | None:
    """The --doc and --topic restrictions as filters, or None when there are none."""
    filters = Filters(doc_ids=_resolve_docs(engine, args.doc), topics=frozenset(args.topic))
    return None if filters.is_empty() else filters


def run_ask(args: argparse.Namespace, settings: Settings) -> int:
    _check_question(args.question, settings)
    history = load_history(args.history) if args.history else ()
    engine = open_engine(args, settings)
    try:
        filters = search_filters(engine, args)
        answer = engine.ask(
            args.question,
            history=history,
            filters=filters,
            k=args.k,
            backend=args.backend,
        )
        cited = {c.doc_id for c in answer.citations}
        sources = {r.doc_id: KeySource.all_in(r.meta) for r in engine.documents() if r.doc_id in cited}
    finally:
        engine.close()
    if args.json:
        from rag.answer.serialize import answer_to_json

        json.dump(answer_to_json(answer, sources), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print_answer(answer, sys.stdout, sources)
    return EXIT_OK


def _where(citation: Citation) -> str:
    parts = []
    if citation.page is not None:
        pages = citation.page_end not in (None, citation.page)
        one, many = ("slide", "slides") if Path(citation.source).suffix.lower() == ".pptx" else ("p.", "pp.")
        parts.append(f"{many} {citation.page}-{citation.page_end}" if pages else f"{one} {citation.page}")
    section = citation.section or ""
    if section.startswith(citation.title):  # Markdown section paths start with the document's title
        section = section[len(citation.title) :].lstrip(" >")
    if section:
        parts.append(section)
    if citation.ocr:
        parts.append("OCR text")  # read from a scanned page: words may hold OCR errors
    return ", ".join(parts)


def print_answer(
    answer: Answer, out: TextIO, key_sources: Mapping[str, tuple[KeySource, ...]] | None = None
) -> None:
    """The answer, its numbered sources and the key sources (with links) of the cited documents."""
    if answer.standalone_question != answer.question:
        out.write(f"(understood as: {answer.standalone_question})\n\n")
    if answer.notice:
        out.write(f"Note: {answer.notice}\n\n")
    if not answer.abstained and has_points(answer.sentences):
        _print_layout(answer, out)
    else:
        out.write(textwrap.fill(clean(answer.text), WIDTH) + "\n")
    if answer.abstained:
        if answer.nearest_documents:
            out.write("\nNearest documents:\n")
            for ref in answer.nearest_documents:
                out.write(f"  - {ref.title} ({ref.source})\n")
        return
    out.write("\nSources:\n")
    for citation in answer.citations:
        where = _where(citation)
        flag = "" if citation.verified else " [not verified]"
        out.write(f"[{citation.n}] {citation.title}{', ' + where if where else ''}{flag}\n")
        excerpt = " ".join(clean(citation.excerpt).split())  # shown clean; --json keeps it verbatim
        out.write(
            textwrap.fill(f'"{excerpt}"', WIDTH, initial_indent="    ", subsequent_indent="    ") + "\n"
        )
        out.write(f"    {citation.source}\n")
        if citation.also_in:
            also = "; ".join(f"{ref.title} ({ref.source})" for ref in citation.also_in)
            out.write(
                textwrap.fill(f"also in: {also}", WIDTH, initial_indent="    ", subsequent_indent="    ")
                + "\n"
            )
    _print_key_sources(answer, out, key_sources or {})


def _print_layout(answer: Answer, out: TextIO) -> None:
    """The lead sentences as a paragraph, then each source's points as an indented list."""
    layout = answer_layout(answer.sentences, answer.citations)

    def sentence(s: AnswerSentence) -> str:
        return f"{clean(s.text)} {markers(s.citations)}".strip()

    if layout.lead:
        out.write(textwrap.fill(" ".join(sentence(s) for s in layout.lead), WIDTH) + "\n")
    for group in layout.groups:
        out.write(f"\n{source_heading(clean(group.title))}\n")
        for point in group.points:
            out.write(
                textwrap.fill(sentence(point), WIDTH, initial_indent="  - ", subsequent_indent="    ") + "\n"
            )


def _print_key_sources(answer: Answer, out: TextIO, key_sources: Mapping[str, tuple[KeySource, ...]]) -> None:
    """Each cited document's key sources once, after all citations (several may cite one document)."""
    numbers: dict[str, list[int]] = {}
    titles: dict[str, str] = {}
    for citation in answer.citations:
        if key_sources.get(citation.doc_id):
            numbers.setdefault(citation.doc_id, []).append(citation.n)
            titles.setdefault(citation.doc_id, citation.title)
    if not numbers:
        return
    out.write("\nKey sources of the cited documents:\n")
    for doc_id, ns in numbers.items():
        marks = "".join(f"[{n}]" for n in ns)
        out.write(f"{marks} {titles[doc_id]}\n")
        for source in key_sources[doc_id]:
            out.write(
                textwrap.fill(source.citation, WIDTH, initial_indent="  - ", subsequent_indent="    ") + "\n"
            )
            if source.url or source.doi:
                out.write(f"    {source.url or 'doi:' + str(source.doi)}\n")
