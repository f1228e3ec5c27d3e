"""Signs that a question asks for something the passages do not hold, for the learned abstention.

A near-domain question names things the library mentions ("East London NHS Foundation Trust",
"PSIRF") and asks what it does not hold: a figure for this year, who leads a body now, one
trust's rating. Passages about the named thing then score well on every relevance signal. What
gives such a question away is what is missing:

- a specific term of the question (a number, a year, a proper name) that no passage contains, or
  that the passage the cross-encoder rates best lacks (the named thing is in the library, but
  not in the passage that would answer);
- a year later than any the passages hold ("in 2025" asked of a 2016 guide);
- the kind of answer asked for (a quantity, a year, a person) absent from the sentences closest
  to it;
- the question asks about the present, the recent past or the future ("now", "this year", "at its
  last inspection", "the next edition"), which a library of published literature rarely answers.

These are inputs of the abstention model (rag/answer/abstain.py); their weights are fitted with
the rest by training/fit_abstention.py, not set here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rag.answer.sentences import split_sentences
from rag.answer.terms import STOPWORDS, content_terms, word_set, words
from rag.types import ScoredChunk

MAX_MISSING = 3  # missing specific terms counted (one missing name is already telling)

_NUMBER_RUN = re.compile(r"\d+")
_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*")
_ACRONYM = re.compile(r"[A-Z]{2,}s?")
_OPENS_SENTENCE = re.compile(r"(?:^|[.?!:;]\s*)$")
# Words capitalised by convention rather than as names.
_NOT_NAMES = frozenset({"i", "i'm", "i've", "i'd", "ok", "okay"})

# What the question asks for: a quantity, a year or date, or a person.
_ASKS_QUANTITY = re.compile(
    r"\b(?:how (?:many|much|long|often)|what (?:percentage|proportion|share|number|rate|figure|amount|"
    r"score|price|cost|rating)|per ?cent|by how much)\b",
    re.IGNORECASE,
)
_ASKS_DATE = re.compile(
    r"\b(?:what (?:year|date)|which (?:year|month)|in what year|when (?:was|did|were|will))\b", re.IGNORECASE
)
_ASKS_PERSON = re.compile(
    r"(?:^|[.,;:]\s*|\band\s+)who(?:'s|s)?\b(?! (?:should|can|could|do|does|needs?|to)\b)", re.IGNORECASE
)
_NUMBER_WORDS = word_set(
    "one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred "
    "thousand million billion half third quarter twice double doubled halved dozen percent"
)
_YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")
# A number with a unit (%, per cent, £, $) or a whole number; a quantity unless it is a year.
_QUANTITY = re.compile(r"(?<![\d.,])\d[\d,.]*\s*(?:%|per ?cent)|£\s*\d|\$\s*\d|\b\d[\d,.]*\b")
# Two capitalised words in a row (not opening the sentence): a person's or body's name.
_FULL_NAME = re.compile(r"(?<!^)(?<![.?!]\s)\b[A-Z][a-z]+\s+[A-Z][a-z]+")
# The present, the recent past or the future: a library of published literature rarely holds it.
_PRESENT = re.compile(
    r"\b(?:right now|nowadays|currently|current|today|this (?:year|month|week|quarter|winter|summer|spring|autumn)|"
    r"so far|to date|at the moment|these days|latest|as of|"
    r"last (?:year|month|week|quarter|winter|summer|spring|autumn|inspection|visit)|"
    r"next (?:year|month|edition|version|round|review))\b",
    re.IGNORECASE,
)
# A bare "now" asks about the present only in a question after a fact ("Who chairs it now?", "How
# many ... now?"); in a manager's question it is mostly the moment of the situation ("What do we do
# now?", "she's now off sick"): 13 of the 29 questions with it in managers-dev, the training sets and
# the starter set are answerable, 1 of them asks for a fact (training/README.md, "A bare 'now'").
_NOW = re.compile(r"\bnow\b", re.IGNORECASE)
_ASKS_FACT = re.compile(r"\b(?:which|where|what version)\b", re.IGNORECASE)


@dataclass(frozen=True)
class ScopeSignals:
    """What the passages lack of the question (every field a float for the model)."""

    passage_coverage: float = 1.0  # share of question content terms found anywhere in the passages
    missing_specific: float = 0.0  # specific question terms (numbers, names) in no passage, capped
    best_missing: float = 0.0  # ... not in the cross-encoder's best passage (text, title, section), capped
    year_after: float = 0.0  # 1 when the question names a year later than every year the passages hold
    type_missing: float = 0.0  # 1 when a quantity, year or person is asked for and no close sentence has one
    asks_present: float = 0.0  # 1 when the question asks about now, the recent past or the future


def specific_terms(question: str) -> set[str]:
    """The question's numbers and proper names (lower-cased): capitalised words that do not open a
    sentence, and acronyms anywhere. A passage must hold them to answer the question."""
    text = " ".join(question.split())
    names = set()
    for match in _WORD.finditer(text):
        word = match.group(0)
        opens = bool(_OPENS_SENTENCE.search(text[: match.start()]))
        if _ACRONYM.fullmatch(word) or (word[0].isupper() and not opens):
            name = word.lower().replace("\u2019", "'").removesuffix("'s").strip("'-")
            if name not in STOPWORDS and name not in _NOT_NAMES and len(name) > 1:
                names.add(name)
    return names | set(_NUMBER_RUN.findall(text))


def asked_part(question: str) -> str:
    """The sentences of `question` that ask (end in "?"), or all of it when none does: "last week"
    in "One of my nurses made an error last week. How should I support her?" dates the situation;
    only a question sentence can ask about the present."""
    asked = [s.text for s in split_sentences(question) if s.text.rstrip().endswith("?")]
    return " ".join(asked) if asked else question


def asks_present(question: str) -> bool:
    """Whether the question asks about now, the recent past or the future (`asked_part`)."""
    question = asked_part(question)
    if _PRESENT.search(question):
        return True
    if not _NOW.search(question):
        return False
    return any(asks.search(question) for asks in (_ASKS_QUANTITY, _ASKS_DATE, _ASKS_PERSON, _ASKS_FACT))


def _vocabulary(passages: Sequence[ScoredChunk]) -> tuple[set[str], set[str]]:
    """The passages' lower-cased words and their number runs (text, title and section)."""
    vocab: set[str] = set()
    numbers: set[str] = set()
    for passage in passages:
        chunk = passage.chunk
        for text in (chunk.text, str(chunk.meta.get("title") or ""), chunk.section or ""):
            for word in words(text):
                vocab.add(word)
                vocab.update(part for part in re.split(r"[-']", word) if part)
            numbers.update(_NUMBER_RUN.findall(text))
    return vocab, numbers


def _holds_quantity(text: str) -> bool:
    """Whether `text` states a quantity: a number other than a year, or a number word."""
    if any(not _YEAR.fullmatch(m.group(0).strip()) for m in _QUANTITY.finditer(text)):
        return True
    return any(w in _NUMBER_WORDS for w in words(text))


def _missing(terms: set[str], vocab: set[str], numbers: set[str]) -> float:
    """How many of `terms` the vocabulary (words, number runs) lacks, capped at MAX_MISSING."""
    return float(min(MAX_MISSING, sum(t not in (numbers if t.isdigit() else vocab) for t in terms)))


def _best_read(passages: Sequence[ScoredChunk]) -> int | None:
    """The position of the passage with the highest cross-encoder logit (the first when none was read)."""
    read = [i for i, p in enumerate(passages) if p.neural_score is not None]
    if read:
        return max(read, key=lambda i: float(passages[i].neural_score))  # type: ignore[arg-type]
    return 0 if passages else None


def scope_signals(question: str, passages: Sequence[ScoredChunk], closest: Iterable[str]) -> ScopeSignals:
    """The signals for `question` against the passages handed to the answerer and the texts of the
    sentences closest to it."""
    each = [_vocabulary([p]) for p in passages]  # per passage, so the best one's is at hand
    vocab: set[str] = set().union(*(v for v, _ in each))
    numbers: set[str] = set().union(*(n for _, n in each))
    question_terms = set(content_terms(question))
    passage_terms = {t for w in vocab for t in content_terms(w)}
    covered = len(question_terms & passage_terms) / len(question_terms) if question_terms else 1.0
    specific = specific_terms(question)
    best = _best_read(passages)
    best_vocab, best_numbers = each[best] if best is not None else (set(), set())
    asked_years = [int(y) for y in _YEAR.findall(question)]
    held_years = [int(n) for n in numbers if _YEAR.fullmatch(n)]
    year_after = bool(asked_years) and (not held_years or max(asked_years) > max(held_years))
    closest = list(closest)
    # Each kind of answer the question may ask for, with the test a sentence stating one passes.
    kinds = (
        (_ASKS_QUANTITY, _holds_quantity),
        (_ASKS_DATE, _YEAR.search),
        (_ASKS_PERSON, _FULL_NAME.search),
    )
    type_missing = any(asks.search(question) and not any(holds(s) for s in closest) for asks, holds in kinds)
    return ScopeSignals(
        passage_coverage=covered,
        missing_specific=_missing(specific, vocab, numbers),
        best_missing=_missing(specific, best_vocab, best_numbers),
        year_after=float(year_after),
        type_missing=float(type_missing),
        asks_present=float(asks_present(question)),
    )
