"""Content words of questions and sentences: the cheap lexical signal of the answer stage."""

from __future__ import annotations

import re

from rag.retrieve.terms import stem


def word_set(text: str) -> frozenset[str]:
    """The distinct whitespace-separated words of `text` (for word lists written as prose)."""
    return frozenset(text.split())


# Function words plus the words every question carries ("how", "should", "use"): they say
# nothing about the topic, so they neither count as overlap nor carry into a rewritten follow-up.
STOPWORDS = word_set(
    """
    a about above after again against all also am an and any are aren't as at be because been before
    being below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't
    down during each either else ever every few for from further get gets getting got had hadn't has hasn't
    have haven't having he he'd he's her here here's hers herself him himself his how how's however i i'd
    i'm i've if in into is isn't it it's its itself just let's like may me might mine more most much must
    mustn't my myself neither nor not now of off on once one only or other ought our ours ourselves out
    over own per please rather really same shall shan't she should shouldn't since so some such than that
    that's the their theirs them themselves then there there's these they they'd they're they've this
    those through thus to too under until up upon us very via was wasn't we we'd we're we've were weren't
    what what's whatever when when's where where's whether which while who who's whom whose why why's
    will with within without won't would wouldn't yes yet you you'd you're you've your yours yourself
    yourselves
    use used using uses make makes making made go going know tell explain describe give mean means
    way ways thing things anything something someone anyone people kind sort lot lots good best better
    need needs want wants work works try help helps find look see say says said think well
    """
)

_TOKEN = re.compile(r"[a-z0-9][a-z0-9'\u2019-]*[a-z0-9]|[a-z0-9]")


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters, digits, inner hyphens and apostrophes; no possessive 's)."""
    tokens = _TOKEN.findall(text.lower().replace("\u2019", "'"))
    return [t[:-2] if t.endswith("'s") else t for t in tokens]  # possessives: "Kotter's" -> "kotter"


def content_terms(text: str) -> list[str]:
    """Stemmed content words of `text` in order, stopwords removed (duplicates kept)."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and len(w) > 1]


def coverage(question_terms: set[str], text_terms: set[str]) -> float:
    """Share of the question's distinct content terms that `text_terms` contains (0 when none)."""
    if not question_terms:
        return 0.0
    return len(question_terms & text_terms) / len(question_terms)
