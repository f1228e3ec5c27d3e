"""Deterministic follow-up rewriting: carry the earlier question's key terms into a standalone query.

Used when no LLM backend condenses the conversation. A self-contained question passes through
unchanged; a follow-up ("and in primary care?", "what are the pitfalls?", "who wrote that?")
borrows the key phrase of the question before it, e.g. "What are the pitfalls (Model for
Improvement)?" or "How do I run a PDSA cycle in primary care?".
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.terms import STOPWORDS, content_terms, word_set
from rag.types import Turn

# Openers that attach the rest of the question to the earlier one.
_CONTINUATION = re.compile(r"^(?:and|but|also|plus|so|then|or)\b[\s,]*", re.IGNORECASE)
_WHAT_ABOUT = re.compile(r"^(?:what|how)\s+about\b\s*|^what\s+of\b\s*|^same\s+for\b\s*", re.IGNORECASE)
# A question that starts with a preposition is a fragment ("in primary care?").
_PREPOSITION_START = re.compile(
    r"^(?:in|for|with|on|at|during|within|across|among|without|under|by|from|after|before|outside|inside)\b",
    re.IGNORECASE,
)
_WH_OR_AUX = re.compile(
    r"^(?:what|which|who|whom|whose|when|where|why|how|is|are|was|were|do|does|did|can|could|should|"
    r"would|will|has|have|had|may|might|must|shall)\b",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\u2019-]*")

ANAPHORS = word_set("it its itself this these those they them their theirs themselves he she him his her")
# "that" is a pronoun after these words ("who wrote that") or before the next set ("does that
# work"); elsewhere it is usually a conjunction ("evidence that PDSA works").
_THAT_PRONOUN_AFTER = word_set(
    "about of for with on to from in is was are does do did wrote write says said mean means behind "
    "than like apply applies use used against into support supports"
)
_THAT_PRONOUN_BEFORE = word_set("is was does do did work works mean means apply applies")
# Words that ask about an aspect of a topic without naming the topic.
ASPECT_WORDS = word_set(
    """
    pitfall pitfalls risk risks benefit benefits evidence example examples limitation limitations limit
    limits criticism criticisms critique problem problems challenge challenges drawback drawbacks
    downside downsides advantage advantages disadvantage disadvantages step steps stage stages source
    sources reference references author authors origin origins history definition summary tip tips
    alternative alternatives cost costs outcome outcomes result results impact impacts effect effects
    barrier barriers enabler enablers detail details more else next wrote write written writer
    developed invented created proposed published apply applied implement implementation start begin
    pros cons strengths weaknesses lessons lesson key main support supports supported long often
    quickly soon
    common commonest typical usual biggest major started starting founded began introduced measure
    measured measuring run running
    """
)
MAX_DEPTH = 3  # how many earlier follow-ups are unwound to find the topic


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _is_content(word: str) -> bool:
    lower = word.lower().replace("\u2019", "'")
    return lower not in STOPWORDS and lower not in ASPECT_WORDS and lower not in ANAPHORS and len(lower) > 1


def _anaphor(tokens: list[str]) -> int | None:
    """Index of the first pronoun that points back at the conversation, if any.

    A pronoun after a topic word most likely points at that word ("What is Lean and does it
    work?"), so only pronouns before any topic word count.
    """
    lowered = [t.lower() for t in tokens]
    for i, word in enumerate(lowered):
        if _is_content(tokens[i]) and word != "that":
            return None
        if word in ANAPHORS:
            return i
        if word == "that":
            before = lowered[i - 1] if i else ""
            after = lowered[i + 1] if i + 1 < len(lowered) else ""
            if i == 0 or not after or before in _THAT_PRONOUN_AFTER or after in _THAT_PRONOUN_BEFORE:
                return i
    return None


def is_followup(question: str) -> bool:
    """Whether `question` leans on an earlier turn to be understood."""
    text = question.strip()
    tokens = _tokens(text)
    if not tokens:
        return False
    if _CONTINUATION.match(text) or _WHAT_ABOUT.match(text) or _PREPOSITION_START.match(text):
        return True
    if _anaphor(tokens) is not None:
        return True
    return not any(_is_content(t) for t in tokens)  # only aspect words: "what are the pitfalls?"


def key_phrase(question: str) -> str:
    """The span of `question` from its first to its last topic word ("Model for Improvement")."""
    tokens = _tokens(question)
    content = [i for i, t in enumerate(tokens) if _is_content(t)]
    if not content:
        return ""
    return " ".join(tokens[content[0] : content[-1] + 1])


def _lower_first(text: str) -> str:
    """Lower-case an opening capital, but not an acronym ("In Wales" -> "in Wales", "NHS" stays)."""
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


def _core(question: str) -> str:
    return question.strip().rstrip("?.!").strip()


def _standalone_topic(history: Sequence[Turn], depth: int = 0) -> str:
    """The last question of `history`, itself made standalone."""
    if not history:
        return ""
    earlier = history[-1].question.strip()
    if depth < MAX_DEPTH and is_followup(earlier):
        return rewrite_followup(earlier, history[:-1], _depth=depth + 1)
    return earlier


def rewrite_followup(question: str, history: Sequence[Turn], *, _depth: int = 0) -> str:
    """A standalone version of `question` given the conversation so far (oldest turn first).

    Deterministic, no LLM. A question that does not look like a follow-up is returned unchanged.
    """
    text = question.strip()
    if not history or not is_followup(text):
        return text
    earlier = _standalone_topic(history, _depth)
    topic = key_phrase(earlier)
    if not topic:
        return text
    if set(content_terms(topic)) <= set(content_terms(text)):
        return text  # the follow-up already names the topic

    continuation = _CONTINUATION.match(text)
    rest = text[continuation.end() :] if continuation else text
    what_about = _WHAT_ABOUT.match(rest)
    tokens = _tokens(rest)
    pronoun = _anaphor(tokens)
    if what_about:
        # "what about SPC charts?" after "What is a run chart?"
        return f"{_core(earlier)}: what about {_core(rest[what_about.end() :])}?"
    if pronoun is not None and not (pronoun + 1 < len(tokens) and _is_content(tokens[pronoun + 1])):
        # "who wrote that?" -> "who wrote Model for Improvement?"; possessives keep their meaning
        word = tokens[pronoun]
        replacement = f"{topic}'s" if word.lower() in ("its", "their", "his", "her") else topic
        match = list(re.finditer(rf"\b{re.escape(word)}\b", rest))[0]
        rewritten = rest[: match.start()] + replacement + rest[match.end() :]
        return rewritten[0].upper() + rewritten[1:]
    if (continuation or _PREPOSITION_START.match(rest)) and not _WH_OR_AUX.match(rest):
        # "and in primary care?" -> "How do I run a PDSA cycle in primary care?"
        return f"{_core(earlier)} {_lower_first(_core(rest))}?"
    # "what are the pitfalls?", "is this approach evidence-based?"
    core = _core(rest)
    return f"{core[0].upper()}{core[1:]} ({topic})?"
