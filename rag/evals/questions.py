"""Question sets: one JSON object per line, validated on load with line-numbered errors.

The format is documented in evals/README.md. Pydantic lives here because a question set is a
boundary (a file people write by hand); the rest of the evaluation code reads plain attributes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rag.errors import QuestionSetError
from rag.types import Turn

MAX_ERRORS_SHOWN = 20  # a badly broken file should not flood the terminal

Decision = Literal["yes", "no", "maybe"]
# How a question is put, for per-style figures (evals/README.md describes each style).
Style = Literal[
    "situation",  # a first-person predicament: "my nurses are exhausted by constant change..."
    "paraphrase",  # the point of a document asked without its title words
    "colloquial",  # everyday or blunt wording: "how do I stop my project fizzling out?"
    "typo",  # misspellings and missing punctuation, as typed in a hurry
    "comparison",  # which of two things, or how they differ
    "multi-part",  # two questions in one
    "follow-up",  # leans on `history` to be understood
    "definition",  # what something is
    "number-fact",  # a figure, a date, a name
]
STYLES: tuple[str, ...] = Style.__args__  # type: ignore[attr-defined]


class HistoryTurn(BaseModel):
    """An earlier exchange of the conversation a follow-up question belongs to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question: str = Field(min_length=1, description="What the user asked earlier.")
    answer: str = Field("", description="What the assistant answered (may be left empty).")


class Question(BaseModel):
    """One evaluation question and what a good answer to it cites."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, description="Unique within the file.")
    question: str = Field(min_length=1, description="The question as a user would type it.")
    answerable: bool = Field(True, description="False for questions the library does not cover.")
    gold_sources: tuple[str, ...] = Field(
        (), description="File names (with or without extension) or document ids that should be cited."
    )
    gold_phrases: tuple[str, ...] = Field(
        (), description="One of these strings should appear in a cited excerpt (case-insensitive)."
    )
    reference_answer: str | None = Field(None, description="A model answer, scored with ROUGE-L.")
    history: tuple[HistoryTurn, ...] = Field((), description="Earlier turns, oldest first (follow-ups).")
    tags: tuple[str, ...] = Field(
        (), description="Topic slugs and the kind of question, for per-tag figures."
    )
    expected_decision: Decision | None = Field(
        None, description="yes/no/maybe (PubMedQA), scored against a generative answer."
    )
    style: Style | None = Field(None, description="How the question is put, for per-style figures.")

    @field_validator("id", "question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("gold_sources", "gold_phrases", "tags")
    @classmethod
    def _no_blank_items(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        if any(not v.strip() for v in values):
            raise ValueError("items must not be blank")
        return tuple(v.strip() for v in values)

    @model_validator(mode="after")
    def _gold_matches_answerable(self) -> Question:
        if self.answerable and not self.gold_sources:
            raise ValueError("an answerable question needs at least one gold source")
        if not self.answerable and (self.gold_sources or self.gold_phrases):
            raise ValueError(
                "an out-of-scope question (answerable: false) cannot have gold sources or phrases"
            )
        if self.style == "follow-up" and not self.history:
            raise ValueError("a follow-up (style: follow-up) needs its history")
        return self

    @property
    def turns(self) -> tuple[Turn, ...]:
        """The history as the engine's `Turn`s."""
        return tuple(Turn(question=t.question, answer=t.answer) for t in self.history)


def _format_pydantic(error: ValidationError) -> list[str]:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(record)"
        parts.append(f"{where}: {item['msg']}")
    return parts


def parse_questions(lines: Iterable[str], name: str = "<questions>") -> list[Question]:
    """Parse JSONL text into questions, collecting every problem before failing.

    Blank lines and lines starting with `//` are skipped (comments).

    Raises:
        QuestionSetError: lists `name:line: problem` for each bad line (and duplicate ids).
    """
    questions: list[Question] = []
    errors: list[str] = []
    first_line_of: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("//"):
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            errors.append(f"{name}:{number}: not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(data, dict):
            errors.append(f"{name}:{number}: expected a JSON object, got {type(data).__name__}")
            continue
        try:
            question = Question.model_validate(data)
        except ValidationError as exc:
            errors.extend(f"{name}:{number}: {part}" for part in _format_pydantic(exc))
            continue
        if question.id in first_line_of:
            errors.append(
                f"{name}:{number}: id {question.id!r} already used on line {first_line_of[question.id]}"
            )
            continue
        first_line_of[question.id] = number
        questions.append(question)
    if errors:
        shown = errors[:MAX_ERRORS_SHOWN]
        more = len(errors) - len(shown)
        tail = f"\n  ... and {more} more" if more else ""
        raise QuestionSetError(
            f"{len(errors)} problem(s) in the question set (format: evals/README.md):\n  "
            + "\n  ".join(shown)
            + tail
        )
    if not questions:
        raise QuestionSetError(
            f"{name} holds no questions: write one JSON object per line (see evals/README.md)."
        )
    return questions


def load_questions(path: Path) -> list[Question]:
    """Read and validate a JSONL question set.

    Raises:
        QuestionSetError: the file is missing, unreadable or has invalid lines.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise QuestionSetError(f"no question set at {path}: check the path.") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionSetError(f"cannot read the question set {path}: {exc}") from exc
    return parse_questions(text.splitlines(), name=str(path))


def gold_keys(doc_id: str, source: str) -> set[str]:
    """The names a gold source may use for a document: its id, file name and file name without extension."""
    name = PurePath(source).name
    keys = {doc_id.casefold(), name.casefold()}
    if "." in name:
        keys.add(name.rsplit(".", 1)[0].casefold())
    return {k for k in keys if k}


def resolve_gold(
    gold_sources: Sequence[str], documents: Iterable[tuple[str, str]]
) -> tuple[set[str], list[str]]:
    """Map gold sources to the ids of the indexed documents they name.

    Args:
        gold_sources: file names (with or without extension) or document ids.
        documents: (doc_id, source) of every indexed document.

    Returns:
        The matched document ids and the gold sources that matched nothing.
    """
    by_key: dict[str, set[str]] = {}
    for doc_id, source in documents:
        for key in gold_keys(doc_id, source):
            by_key.setdefault(key, set()).add(doc_id)
    matched: set[str] = set()
    missing: list[str] = []
    for gold in gold_sources:
        ids = by_key.get(gold.casefold())
        if ids:
            matched |= ids
        else:
            missing.append(gold)
    return matched, missing
