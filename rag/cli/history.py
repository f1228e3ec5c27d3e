"""Conversation files for `changeguide ask --history FILE`: the turns before a follow-up.

The shape is the one question sets (`history` in evals/README.md) and the app's feedback export
use: a JSON list of `{"question": ..., "answer": ...}` objects, oldest first (`answer` may be left
out). A question-set record (an object with a `history` list) is read too, so a follow-up from
an evaluation can be tried as it is.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from rag.errors import HistoryFileError
from rag.evals.questions import HistoryTurn
from rag.types import Turn

_TURNS = TypeAdapter(list[HistoryTurn])
EXAMPLE = '[{"question": "What is a run chart?", "answer": "A run chart is ..."}]'


def load_history(path: Path) -> tuple[Turn, ...]:
    """The turns held in a conversation file, oldest first.

    Raises:
        HistoryFileError: the file is missing, not JSON, or not a list of turns (the message says where).
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HistoryFileError(f"There is no history file at {path}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise HistoryFileError(f"Cannot read the history file {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise HistoryFileError(
            f"{path} is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}). "
            f"It should hold a list of earlier turns, e.g. {EXAMPLE}"
        ) from None
    if isinstance(data, dict) and "history" in data:
        data = data["history"]  # a question-set record
    try:
        turns = _TURNS.validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(file)'}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise HistoryFileError(
            f"{path} is not a list of earlier turns ({problems}). Write it like {EXAMPLE}"
        ) from None
    return tuple(Turn(question=t.question.strip(), answer=t.answer) for t in turns)
