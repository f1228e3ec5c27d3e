"""`LLMGenerator`: a LangChain chat model writes the answer; verification decides whether to trust it.

The extractive answerer runs first, as judge and as fallback: if it abstains (weak evidence)
the model is not called at all; if the server fails, or nothing the model wrote can be verified
against the excerpts it cites, the extractive answer is returned with a notice saying why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rag.answer.base import Draft, Generator
from rag.index.embedding import Embedder
from rag.llm.failures import ServerHealth
from rag.llm.prompts import answer_messages
from rag.llm.verify import verify_answer
from rag.types import ScoredChunk, Turn

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from rag.llm.condense import Condenser

UNVERIFIED_NOTICE = (
    "The generated answer could not be verified against the excerpts it cites; showing the extractive answer."
)
DECLINED_NOTICE = "The LLM found no answer in the excerpts; showing the extractive answer."


def _partly_verified_notice(unverified: int, total: int, invented: int) -> str:
    parts = [
        f"{unverified} of {total} sentences of the generated answer are not supported by the excerpts "
        "they cite and are marked unverified."
    ]
    if invented:
        parts.append(f"{invented} citation number(s) that named no excerpt were removed.")
    return " ".join(parts)


class LLMGenerator:
    """Answers with a chat model, checked sentence by sentence against the excerpts it cites.

    Thread-safe: the chat model clients are, and `health` locks its own state.

    Args:
        name: the backend name shown on answers ("openai", "ollama").
        chat_model: the LangChain chat model.
        embedder: the engine's embedder, used to verify sentences.
        fallback: the extractive answerer.
        health: the server's recent outages (shared with the condenser), for notices.
        condenser: rewrites follow-ups into standalone questions with the same model.
    """

    def __init__(
        self,
        name: str,
        chat_model: BaseChatModel,
        embedder: Embedder,
        fallback: Generator,
        health: ServerHealth,
        condenser: Condenser | None = None,
    ) -> None:
        self.name = name
        self.chat_model = chat_model
        self.embedder = embedder
        self.fallback = fallback
        self.health = health
        self.condenser = condenser

    # -- answers -------------------------------------------------------------------------------

    def generate(
        self, question: str, passages: Sequence[ScoredChunk], *, on_token: Callable[[str], None] | None = None
    ) -> Draft:
        """Stream an answer from the chat model, verify it, or fall back to the extractive one.

        `on_token` receives the model's text as it arrives (raw, before verification); the returned
        Draft is authoritative and replaces it (invented citations removed, or the extractive answer).
        """
        extractive = self.fallback.generate(question, passages)
        if extractive.abstained:
            return self._emit(extractive, on_token)
        outage = self.health.recent_outage()
        if outage is not None:
            return self._emit(_with_notice(extractive, outage.notice), on_token)
        pieces: list[str] = []
        try:
            for chunk in self.chat_model.stream(answer_messages(question, passages)):
                piece = chunk.text
                if piece:
                    pieces.append(piece)
                    if on_token is not None:
                        on_token(piece)
        except Exception as exc:  # any client or server error: the extractive answer still stands
            failure = self.health.record(exc)
            return self._emit(_with_notice(extractive, failure.notice), on_token, streamed=bool(pieces))
        return self._judge("".join(pieces), passages, extractive, on_token, streamed=bool(pieces))

    def _judge(
        self,
        text: str,
        passages: Sequence[ScoredChunk],
        extractive: Draft,
        on_token: Callable[[str], None] | None,
        *,
        streamed: bool,
    ) -> Draft:
        checked = verify_answer(text, passages, self.embedder)
        if checked.declined:
            return self._emit(_with_notice(extractive, DECLINED_NOTICE), on_token, streamed=streamed)
        if checked.n_verified == 0:
            return self._emit(_with_notice(extractive, UNVERIFIED_NOTICE), on_token, streamed=streamed)
        unverified = len(checked.sentences) - checked.n_verified
        notice = None
        if unverified or checked.invented:
            notice = _partly_verified_notice(unverified, len(checked.sentences), len(checked.invented))
        return Draft(
            text=checked.text,
            sentences=checked.sentences,
            citations=checked.citations,
            abstained=False,
            notice=notice,
        )

    @staticmethod
    def _emit(draft: Draft, on_token: Callable[[str], None] | None, *, streamed: bool = False) -> Draft:
        """Send a whole fallback answer to `on_token`, as the extractive answerer does, unless
        model text was already streamed (the caller then replaces it with the returned Draft)."""
        if on_token is not None and not streamed:
            on_token(draft.text)
        return draft

    # -- follow-ups ----------------------------------------------------------------------------

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """A standalone version of a follow-up `question`, by the model (deterministic rewrite on failure)."""
        if self.condenser is None:
            from rag.answer.rewrite import rewrite_followup

            return rewrite_followup(question, history)
        return self.condenser(question, history)


def _with_notice(draft: Draft, notice: str) -> Draft:
    return Draft(draft.text, draft.sentences, draft.citations, draft.abstained, notice)
