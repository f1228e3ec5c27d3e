"""Light English term analysis for the second-stage lexical features: lower-case, stop words out, stemmed."""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

# Function words plus the question words managers put around a topic ("what is", "how should we");
# matching them says nothing about relevance.
_STOPWORD_TEXT = """
a about above after again against all also am an and any anything are as at be because been before
being below between both but by can could did do does doing done down during each either else etc
ever every few for from further get gets getting give given go goes going had has have having he her
here hers herself him himself his how however i if in into is it its itself just kind let lets like
make makes many may me might more most much must my myself need needs no nor not now of off often on
once one only or other others our ours ourselves out over own per please rather really same say says
shall she should so some something sort such tell than that the their theirs them themselves then
there these they thing things this those three through thus to too two under until up upon us use
used using very via was way ways we were what whats when where whether which while who whom whose
why will with within without would yes yet you your yours yourself yourselves
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_local = threading.local()  # PyStemmer objects are not thread-safe: one per thread


def _stemmer() -> Stemmer.Stemmer:
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The English (Porter 2) stem of a lower-case word; thread-safe and cached."""
    return _stemmer().stemWord(word)


def terms(text: str) -> list[str]:
    """Stemmed content terms of `text`, in order, stop words removed."""
    out = []
    for word in _WORD.findall(text.lower()):
        word = word.split("'", 1)[0]
        if len(word) < 2 or word in STOPWORDS:
            continue
        out.append(stem(word))
    return out
