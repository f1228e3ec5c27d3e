"""`changeguide chat`: a conversation on the terminal that keeps its history, like the app.

Each line is a question; a follow-up ("and for community teams?") is understood through the
turns before it, exactly as the app does (the last `HISTORY_TURNS` exchanges go to the engine).
`/new` starts over, `/quit` (or Ctrl-D, Ctrl-C) ends. Answers print as `changeguide ask` prints them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from rag.app.view import HISTORY_TURNS
from rag.cli import EXIT_OK, add_index_argument
from rag.cli.ask import _check_question, open_engine, print_answer, search_filters
from rag.cli.history import load_history
from rag.config import Settings
from rag.errors import ChangeGuideError
from rag.types import Filters, KeySource, Turn

if TYPE_CHECKING:
    from rag.engine import ChangeGuide

PROMPT = "> "
QUIT = ("/quit", "/exit", "/q")
HELP = "Type a question. Follow-ups use the conversation so far; /new starts over, /quit or Ctrl-D ends."


def register(subparsers: argparse._SubParsersAction) -> None:
    chat = subparsers.add_parser(
        "chat",
        help="a conversation with the library on the terminal",
        description="Ask questions one after another; follow-ups are read with the conversation so far. "
        + HELP,
    )
    add_index_argument(chat)
    chat.add_argument(
        "--backend",
        choices=("extractive", "openai", "ollama"),
        help="answer backend (default: $CHANGEGUIDE_LLM__BACKEND or extractive)",
    )
    chat.add_argument(
        "--k",
        type=int,
        metavar="N",
        help=f"passages handed to the answerer (default {Settings().retrieval.k})",
    )
    chat.add_argument(
        "--doc", action="append", default=[], metavar="ID", help="search only this document; repeatable"
    )
    chat.add_argument(
        "--topic", action="append", default=[], metavar="T", help="search only this topic; repeatable"
    )
    chat.add_argument(
        "--history",
        type=Path,
        metavar="FILE",
        help="start from the earlier turns in FILE (a JSON list of {question, answer})",
    )
    chat.set_defaults(func=run_chat)


def run_chat(args: argparse.Namespace, settings: Settings) -> int:
    history = load_history(args.history) if args.history else ()
    engine = open_engine(args, settings)
    try:
        filters = search_filters(engine, args)
        return chat_loop(
            engine,
            sys.stdin,
            sys.stdout,
            history=history,
            filters=filters,
            k=args.k,
            backend=args.backend,
        )
    finally:
        engine.close()


def _read(stdin: TextIO, out: TextIO, interactive: bool) -> str | None:
    """The next line typed, or None at the end of input."""
    if interactive:
        try:
            return input(PROMPT)  # line editing where the terminal has readline
        except EOFError:
            out.write("\n")
            return None
    line = stdin.readline()
    return line if line else None


def chat_loop(
    engine: ChangeGuide,
    stdin: TextIO,
    out: TextIO,
    *,
    history: Sequence[Turn] = (),
    filters: Filters | None = None,
    k: int | None = None,
    backend: str | None = None,
) -> int:
    """Answer each line of `stdin` with the conversation so far, until /quit or the end of input."""
    interactive = stdin.isatty() and out.isatty()
    turns = list(history)
    if interactive:
        out.write(HELP + "\n\n")
    while True:
        try:
            line = _read(stdin, out, interactive)
        except KeyboardInterrupt:
            out.write("\n")
            break
        if line is None:
            break
        text = line.strip()
        if not text:
            continue
        if not interactive:
            out.write(f"{PROMPT}{text}\n")  # a piped transcript shows what was asked
        if text.lower() in QUIT:
            break
        if text.lower() == "/new":
            turns.clear()
            out.write("Started a new conversation.\n\n")
            continue
        if text.startswith("/"):
            out.write(f"Unknown command {text.split()[0]}. {HELP}\n\n")
            continue
        try:
            _check_question(text, engine.settings)
            answer = engine.ask(
                text, history=tuple(turns[-HISTORY_TURNS:]), filters=filters, k=k, backend=backend
            )
            cited = {c.doc_id for c in answer.citations}
            sources = {r.doc_id: KeySource.all_in(r.meta) for r in engine.documents() if r.doc_id in cited}
        except ChangeGuideError as exc:  # a bad question or an unavailable backend: the session goes on
            out.write(f"error: {exc}\n\n")
            continue
        except KeyboardInterrupt:
            out.write("\n")
            break
        print_answer(answer, out, sources)
        out.write("\n")
        out.flush()
        turns.append(Turn(question=text, answer=answer.text))
    return EXIT_OK
