"""The `Generator` protocol every answer backend implements, and the `Draft` it returns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from rag.types import AnswerSentence, Citation, ScoredChunk


@dataclass(frozen=True)
class Draft:
    """An answer before the engine adds retrieval details and timings."""

    text: str  # with [n] markers
    sentences: tuple[AnswerSentence, ...]
    citations: tuple[Citation, ...]
    abstained: bool
    notice: str | None = None  # e.g. "The LLM server timed out; showing the extractive answer."


class Generator(Protocol):
    """Turns a question and its retrieved passages (best first) into a cited `Draft`."""

    name: str

    def generate(
        self, question: str, passages: Sequence[ScoredChunk], *, on_token: Callable[[str], None] | None = None
    ) -> Draft: ...
