"""Condensing follow-ups with the chat model: (history, question) -> one standalone question.

On any failure (server down, an empty or rambling reply) the deterministic rewrite of
`rag.answer.rewrite` is used instead, so a follow-up always gets a usable query.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rag.llm.failures import ServerHealth
from rag.llm.prompts import condense_messages
from rag.types import Turn

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

Condenser = Callable[[str, Sequence[Turn]], str]

MAX_GROWTH_CHARS = 300  # a standalone question longer than the follow-up by more than this is rambling
# Labels and quotes models like to wrap the question in.
_LABEL = re.compile(r"^\s*(?:standalone question|question|rewritten question)\s*:\s*", re.IGNORECASE)
_QUOTES = "\"'\u201c\u201d\u2018\u2019`"


def _deterministic(question: str, history: Sequence[Turn]) -> str:
    from rag.answer.rewrite import rewrite_followup

    return rewrite_followup(question, history)


def clean_reply(reply: str, question: str) -> str | None:
    """The standalone question in a model's reply, or None if the reply is not usable as one."""
    lines = [line for line in reply.strip().splitlines() if line.strip()]
    if not lines:
        return None
    text = _LABEL.sub("", lines[0]).strip().strip(_QUOTES).strip()
    if not text or len(text) > len(question) + MAX_GROWTH_CHARS:
        return None
    return text


class LLMCondenser:
    """Rewrites a follow-up into a standalone question with a chat model.

    Args:
        chat_model: the LangChain chat model (called without streaming).
        health: the server's recent outages, shared with the answerer: no call while it is down.
        fallback: the rewrite used when the model cannot help (default: the deterministic one).
    """

    def __init__(
        self, chat_model: BaseChatModel, health: ServerHealth, fallback: Condenser = _deterministic
    ) -> None:
        self.chat_model = chat_model
        self.health = health
        self.fallback = fallback

    def __call__(self, question: str, history: Sequence[Turn]) -> str:
        if not history:
            return question
        if self.health.recent_outage() is not None:
            return self.fallback(question, history)
        try:
            reply = self.chat_model.invoke(condense_messages(question, history))
        except Exception as exc:  # any client or server error: the deterministic rewrite still works
            self.health.record(exc)
            return self.fallback(question, history)
        return clean_reply(reply.text, question) or self.fallback(question, history)
