"""Deterministic follow-up rewriting: a follow-up and its conversation -> one natural standalone question.

Used when no LLM backend condenses the conversation. A self-contained question passes through
unchanged. A follow-up is rewritten around the topic of the question before it (`rag.answer.topic`):

- a pronoun or "the first one" takes the topic's place: "what goes wrong with it?" ->
  "What goes wrong with a PDSA cycle?"; "what are its limits?" -> "What are the limits of the
  Model for Improvement?"; "is it true he never said 'refreeze'?" -> "Is it true Lewin never ...";
- a fragment joins the earlier question: "and for mental health wards?" -> "How does the
  Productive Ward work for mental health wards?"; "what about run charts?" asks the earlier
  question of run charts; "why?" -> "Why does ...?" or "What is ..., and why?";
- a question about an aspect only gets the topic after the aspect: "what's the catch?" ->
  "What's the catch with a power-interest grid?"; "ok so what's the first thing I should do?" ->
  "What's the first thing I should do with Kotter's model?".

The topic must read as a noun phrase (`plausible_topic`): an earlier turn that is a situation
("We're moving gout patients onto ... . What has to be in place?") gives the topic of its question
sentence or else of the situation; an identification question ("Which R package uses the Anhøj
rules?") gives the name its answer opens with ("qicharts2"); a clause cut from a statement
("looks like an honest slip") is no topic, and the follow-up then comes after the earlier turn in
the asker's own words ("We did, and it looks like an honest slip. What should I be doing for her
now?") rather than spliced into it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.sentences import split_sentences
from rag.answer.terms import STOPWORDS, content_terms, word_set
from rag.answer.topic import (
    ASPECT_WORDS,
    AUXILIARIES,
    PREPOSITIONS,
    VERBS,
    WH_WORDS,
    WORD,
    Topic,
    answer_topic,
    core,
    strip_opener,
    topic_of,
    words_of,
)
from rag.types import Turn

_WHAT_ABOUT = re.compile(
    r"^(?:(?:what|how)\s+about|what\s+of|(?:and\s+)?(?:the\s+)?same\s+(?:for|with))\b\s*", re.IGNORECASE
)
_WHY = re.compile(r"^(?:why|why not|how come|why is that|why's that|why so|but why)[\s?.!]*$", re.IGNORECASE)
_PREPOSITION_START = re.compile(
    r"^(?:in|for|with|on|at|during|within|across|among|without|under|by|from|after|before|outside|inside)\b",
    re.IGNORECASE,
)
_COPULA_DEFINITION = re.compile(r"^(?:what|who)\s+(?:is|are)\s+\S", re.IGNORECASE)

ANAPHORS = word_set("it its this these those they them their he she him his her one there")
# "that" is a pronoun after these words ("who wrote that") or before a verb ("does that work",
# "how long does that take"); elsewhere it is usually a conjunction ("evidence that PDSA works").
_THAT_PRONOUN_AFTER = word_set(
    "about of for with on to from in is was are does do did wrote write says said mean means behind "
    "than like apply applies use used against into support supports"
)
# ... and before these: "where do teams mess that up?", "how do I stop that happening?"
_AFTER_THAT_PRONOUN = word_set("up out off down away again happening happen right wrong properly well")
# "it" that points at nothing: "is it true ...", "is it worth ...", "it's possible to ...".
_EXPLETIVE_AFTER_IT = word_set(
    "true possible worth necessary ok okay better best wise important right normal fair safe common "
    "usual hard easy likely unusual essential needed required advisable sensible fine alright "
    "acceptable appropriate reasonable allowed enough"
)
# Nouns that "this"/"that" can point with without naming anything ("is this approach any good?").
_GENERIC_NOUNS = word_set(
    "approach method model tool framework idea technique process thing programme program guide study "
    "document report paper protocol strategy one"
)
# Nouns that "the" can point back with at a named thing of the conversation ("the app").
_BRIDGING_NOUNS = word_set(
    "app tool package programme program scheme project campaign collaborative initiative report study "
    "guide review inquiry protocol framework model"
)
_NOT_ANAPHORIC_ONE = word_set("no any every which each the this that another no-one")
_IMPERATIVES = word_set("tell explain describe show give list summarise summarize define")
_ORDINALS = word_set("first second third fourth fifth last next final other")
_COUNTS = word_set("two three four five six seven eight nine ten twelve 2 3 4 5 6 7 8 9 10 12")
# The preposition that ties the topic to the aspect a question asks about.
_PREPOSITION_AFTER = {
    **dict.fromkeys(
        word_set("catch catches problem problems issue issues trouble wrong do start begin begun started"),
        "with",
    ),
    **dict.fromkeys(word_set("evidence support case rationale"), "for"),
    **dict.fromkeys(word_set("comments comment feedback views consultation objections"), "on"),
    **dict.fromkeys(word_set("say says said think thinks more"), "about"),
}
_OPEN_VERBS = word_set("do start begin begun started")
# A verb closing with a manner adverb has left its object out: the topic ("how do I do it properly").
_ELIDED_OBJECT_VERBS = word_set("do get run use apply implement")
_MANNER = word_set("properly well right correctly successfully safely effectively")
_AFTER_DO = word_set("first next now then again") | PREPOSITIONS
DEFAULT_PREPOSITION = "of"  # "the pitfalls of ...", "the limits of ...", "the history of ..."
MAX_DEPTH = 3  # how many earlier follow-ups are unwound to find the topic

# Capitalised only because they open a sentence: "We did, and it looks ..." names nothing for "it".
_PRONOUNS = word_set("i we you they he she it my our your their this that these those")
_NOT_NAMES = word_set("yes no yeah nope one none both all several many most some")
_PERSONAL = word_set("i i'm i've we we're we've you me us")
_SUBORDINATORS = word_set("whether if because although unless whereas there")
_FINITE = AUXILIARIES - word_set("'s can may will")  # "a nurse ... and HR are asking": a clause
_AFTER_A_VERB = word_set("a an the this that these those my our your their its his her like at")
# An identification question ("Which R package uses the Anhøj rules?", "What tool did they use?"):
# a follow-up's "it" then stands for what the answer names, not for the question's noun phrase.
_IDENTIFIES = re.compile(
    r"^(?:which|what)\s+(?!(?:is|are|was|were|do|does|did|can|could|should|would|will|has|have|had)\b)"
    r"(?:[A-Za-z]+\s+){0,2}[A-Za-z]+\s+(?:is|are|was|were|do|does|did|uses?|used|has|have|had|can|could|"
    r"should|would|will|[a-z]+s)\b",
    re.IGNORECASE,
)
# The name an answer opens with: "qicharts2 - it applies them ...", "Run charts: ...", "The NPSA, ...".
_ANSWER_NAME = re.compile(
    r"^\s*((?:[Tt]he\s+)?[A-Za-z0-9][\w.+'-]*(?:\s+[A-Z0-9][\w.+'-]*){0,3})\s*(?:[-\u2013\u2014:,(]|\s(?:is|are|was|were)\b)"
)


def _lower(word: str) -> str:
    return word.lower().replace("\u2019", "'")


def _is_content(word: str) -> bool:
    lower = _lower(word)
    return lower not in STOPWORDS and lower not in ASPECT_WORDS and lower not in ANAPHORS and len(lower) > 1


# Words that open a second clause, whose pronoun may point at a name in the first.
_CLAUSE_BOUNDARIES = word_set("and but when whenever while if once")


def _own_referent(words: list[str], end: int) -> bool:
    """Whether the question names something itself before word `end` for a pronoun to point at.

    Only across a clause boundary: "What is Lean and is it effective?" (a name), "What is a run
    chart and how do I read it?" (a topic before "and") and "does the CQC use the same definition
    when it inspects ...?" keep their pronoun; "what did Deming change about it?" and "how much does
    our ICS get for it?" name a person or a body inside the same clause, which is not what "it"
    stands for, and "what do the authors say could go wrong with it?" names nothing.
    """
    lowered = [_lower(w) for w in words[:end]]
    if any(w in _CLAUSE_BOUNDARIES for w in lowered):
        cut = max(i for i, w in enumerate(lowered) if w in _CLAUSE_BOUNDARIES)
        return any(_is_content(w) or (w[:1].isupper() and _lower(w) not in _PRONOUNS) for w in words[:cut])
    return False


def _that_is_pronoun(lowered: list[str], i: int) -> bool:
    before = lowered[i - 1] if i else ""
    after = lowered[i + 1] if i + 1 < len(lowered) else ""
    return (
        i == 0
        or not after
        or before in _THAT_PRONOUN_AFTER
        or after in _AFTER_THAT_PRONOUN
        or after in VERBS
        or (after in AUXILIARIES and after not in ("'s",))
    )


def _reference(words: list[str]) -> tuple[int, int, str] | None:
    """The first expression pointing back at the conversation: (first word, end word, kind), if any."""
    lowered = [_lower(w) for w in words]
    n = len(words)
    for i, word in enumerate(lowered):
        nxt = lowered[i + 1] if i + 1 < n else ""
        if word == "the" and nxt in _ORDINALS and i + 2 < n and lowered[i + 2] == "one":
            return i, i + 3, "ordinal"
        if word in ("this", "that", "these", "those") and nxt in _GENERIC_NOUNS:
            return i, i + 2, "phrase"
        # "what's the evidence it's safe?" points back; "it's safe to ..." and "it's true that ..." do not
        expletive = nxt in _EXPLETIVE_AFTER_IT and i + 2 < n
        if word == "it's" and nxt and not expletive and not _own_referent(words, i):
            return i, i + 1, "it's"
        if word not in ANAPHORS and word != "that":
            continue
        if _own_referent(words, i):
            return None
        if word == "that" and not _that_is_pronoun(lowered, i):
            continue
        if word in ("this", "these", "those") and nxt and _is_content(words[i + 1]):
            continue  # a determiner of another noun: "this ward"
        if word == "it" and nxt in ("take", "takes") and i + 2 < n and lowered[i + 2] == "to":
            continue  # "what does it take to do properly?": an idiom, the topic is what is done
        if word == "it" and nxt == "worth" and i + 2 < n and lowered[i + 2] in ("the", "all"):
            return i, i + 1, "it"  # "is it worth the hassle?": the topic is what is worth it
        if word == "it" and (
            nxt in _EXPLETIVE_AFTER_IT
            or (i and lowered[i - 1] in ("is", "was") and nxt in _EXPLETIVE_AFTER_IT)
        ):
            continue
        if (
            word == "it"
            and nxt in ("is", "'s", "was")
            and i + 2 < n
            and lowered[i + 2] in _EXPLETIVE_AFTER_IT
        ):
            continue
        if word == "one" and (
            not i or lowered[i - 1] in _NOT_ANAPHORIC_ONE or (nxt and nxt not in PREPOSITIONS)
        ):
            continue  # "no one", "which one", "one of them": not a stand-in for the topic
        if word == "there" and not (i and lowered[i - 1] in ("in", "from", "inside")):
            continue
        if word == "it" and i and lowered[i - 1] == "worth" and "it" in lowered[: i - 1]:
            first = lowered.index("it")  # "is it worth it?": the topic takes the first "it"
            return first, first + 1, "it"
        if word in ("its", "their"):
            return i, i + 1, "possessive"
        if word in ("he", "she", "him", "her", "his"):
            return i, i + 1, "person"
        return i, i + 1, word
    return None


def is_followup(question: str) -> bool:
    """Whether `question` leans on an earlier turn to be understood."""
    rest, opened = strip_opener(question)
    words = words_of(rest)
    if not words:
        return False
    if opened or _WHAT_ABOUT.match(rest) or _PREPOSITION_START.match(rest) or _WHY.match(rest):
        return True
    if _reference(words) is not None:
        return True
    return not any(_is_content(w) for w in words)  # only aspect words: "what are the pitfalls?"


def key_phrase(question: str) -> str:
    """The topic of `question` as a noun phrase ("the Model for Improvement"), or "" when it names none."""
    topic = topic_of(question)
    return topic.phrase if topic else ""


def _sentence(text: str) -> str:
    """`text` as a question: first letter up, one question mark, single spaces."""
    text = " ".join(core(text).split())
    text = re.sub(r"\s+([,;:])", r"\1", text)
    if not text:
        return text
    mark = "." if _lower(text.split()[0]) in _IMPERATIVES else "?"  # "Tell me more about X."
    return text[:1].upper() + text[1:] + mark


def _lower_first(text: str) -> str:
    """Lower-case an opening capital, but not an acronym or a name-like word ("NHS", "I")."""
    if len(text) > 1 and text[0].isupper() and not text[1].isupper() and text[1] != " ":
        return text[0].lower() + text[1:]
    return text


def plausible_topic(topic: Topic | None) -> bool:
    """Whether `topic` reads as a noun phrase a follow-up can point at: no sentence break and no
    verb inside ("moving gout patients onto follow-up. What has to be in place", "package uses the
    Anhøj rules" and "looks like an honest slip" are clauses cut from a statement, not topics)."""
    if topic is None or re.search(r"[.!?;]", topic.phrase):
        return False
    lowered = [_lower(w) for w in words_of(topic.phrase)]
    if any(w in _PERSONAL or w in _SUBORDINATORS for w in lowered):
        return False  # "we communicate", "I read": the asker; "Because the players' ...": a clause
    if topic.clause:
        return True  # "what the FAA is proposing for the 737 MAX" is a clause by design
    # Many of VERBS are nouns too ("a run chart", "the cost of care"): a verb counts only when an
    # article or "like" follows it, as in a clause.
    return not any(
        w in _FINITE or (w in VERBS and i + 1 < len(lowered) and lowered[i + 1] in _AFTER_A_VERB)
        for i, w in enumerate(lowered)
    )


def _names_something(opening: str) -> bool:
    """Whether an answer's opening words name a thing ("qicharts2"), not "Yes," or "Three:"."""
    last = _lower(words_of(opening)[-1]) if words_of(opening) else ""
    return _is_content(last) and last not in _COUNTS and last not in _NOT_NAMES


def earlier_topic(earlier: str, answer: str) -> Topic | None:
    """What a follow-up points back at: the name the answer gives to an identification question,
    else the topic of the earlier turn's question sentence, else of its other sentences (last
    first), else the subject of the answer; None when none of them is a plausible topic."""
    opening = core(strip_opener(earlier)[0])
    name = _ANSWER_NAME.match(answer) if _IDENTIFIES.match(opening) else None
    if name and _names_something(name.group(1)):
        named = topic_of(f"What is {name.group(1)}?")
        if plausible_topic(named):
            return named
    sentences = [s.text for s in split_sentences(earlier.strip())]
    asked = [s for s in reversed(sentences) if s.rstrip().endswith("?")]
    for sentence in asked + [s for s in reversed(sentences) if s not in asked]:
        topic = topic_of(sentence)
        if plausible_topic(topic):
            return topic
    topic = answer_topic(answer)
    return topic if plausible_topic(topic) else None


def _after(earlier: str, question: str) -> str:
    """The follow-up after the earlier turn, both in the asker's words ("We did, and it looks like an
    honest slip. What should I be doing for her now?"): when no topic can stand in for a reference,
    the two sentences together still say what is asked, without a garbled splice."""
    earlier = " ".join(earlier.split())
    if earlier and earlier[-1] not in ".?!":
        earlier += "."
    rest = core(strip_opener(question)[0]) or question.strip()
    said = _sentence(rest)
    first = words_of(rest)[:1]
    statement = question.strip()[-1:] in ".!" or (
        question.strip()[-1:] != "?" and first and not _WH_OR_AUX(first[0])
    )
    if statement and said.endswith("?"):
        said = said[:-1] + "."  # a statement stays one: "We did, and it looks like an honest slip."
    return f"{earlier} {said}".strip()


def _standalone_earlier(history: Sequence[Turn], depth: int) -> str:
    """The last question of `history`, itself made standalone."""
    earlier = history[-1].question.strip()
    if depth < MAX_DEPTH and is_followup(earlier):
        return rewrite_followup(earlier, history[:-1], _depth=depth + 1)
    return earlier


def _attach(earlier: str, fragment: str) -> str:
    """The earlier question with a phrase added, replacing a short closing phrase with the same preposition."""
    base = core(earlier)
    first = fragment.split()[0].lower()
    tail = re.search(rf"\s{re.escape(first)}\s+([^?]*)$", base, re.IGNORECASE)
    if (
        tail
        and len(tail.group(1).split()) <= 4
        and not any(_lower(w) in VERBS for w in words_of(tail.group(1)))
    ):
        base = base[: tail.start()]  # "... in R" + "and in Python?" -> "... in Python"
    return f"{base} {_lower_first(fragment)}"


def _substitute(earlier: str, topic: Topic, replacement: str) -> str | None:
    """The earlier question asked of `replacement` instead of its topic ("What are run charts?")."""
    base = core(earlier)
    # Only the noun phrase before the topic's first preposition gives way: "the dice game in the
    # deck" + "what about the version ...?" keeps "in the deck". An aspect asks again of the same
    # topic: "What are the benefits of X?" + "and the catch?" swaps "the benefits".
    aspect_only = not any(_is_content(w) for w in words_of(replacement))
    phrase = topic.aspect if topic.aspect and aspect_only else _before_preposition(topic.phrase)
    start = base.find(phrase)
    if topic.clause or start < 0 or len(split_sentences(base[start:])) > 1:
        return None  # ... or the topic sits in a sentence before the question: swapping it garbles both
    before, after = base[:start], base[start + len(phrase) :]
    plural = _plural_phrase(replacement)
    swaps = {"is": "are", "are": "is", "does": "do", "do": "does", "was": "were", "were": "was"}
    match = re.search(r"(\b\w+)(\s+)$", before)
    if match and match.group(1).lower() in swaps:
        verb = match.group(1).lower()
        wanted = (
            {"is": "are", "does": "do", "was": "were"}.get(verb, verb)
            if plural
            else {"are": "is", "do": "does", "were": "was"}.get(verb, verb)
        )
        cased = wanted if match.group(1).islower() else wanted.capitalize()
        before = before[: match.start(1)] + cased + match.group(2)
    before = re.sub(r"\bwhat's\s+$", "what are " if plural else "what's ", before, flags=re.IGNORECASE)
    return f"{before}{replacement}{after}"


def _before_preposition(phrase: str) -> str:
    """`phrase` up to its first preposition, unless that sits inside a name ("Model for Improvement")."""
    words = phrase.split()
    for i in range(1, len(words) - 1):
        inside_name = words[i - 1][:1].isupper() and words[i + 1][:1].isupper()
        if words[i].lower() in PREPOSITIONS and not inside_name:
            return " ".join(words[:i])
    return phrase


def _plural_phrase(phrase: str) -> bool:
    words = [w for w in words_of(phrase) if _lower(w) not in PREPOSITIONS]
    head = words_of(re.split(r"\s(?:of|in|for|with|on|to)\s", phrase)[0])
    last = head[-1] if head else (words[-1] if words else "")
    return bool(re.search(r"(?<![su'])s$", last)) and not last.endswith(("ss", "us", "is"))


def _indefinite(topic: Topic) -> str:
    phrase = topic.phrase
    match = re.match(r"^the\s+([a-z])", phrase)
    if match:
        return ("an " if match.group(1) in "aeiou" else "a ") + phrase[4:]
    return phrase


def _plural(topic: Topic) -> str:
    """The topic as a plural noun phrase ("a safety huddle" -> "safety huddles") where that is plain."""
    match = re.match(r"^an?\s+(.+)$", topic.phrase)
    if not match or not match.group(1).endswith(topic.head):
        return topic.phrase
    body = match.group(1)
    head = topic.head
    plural = (
        head[:-1] + "ies"
        if re.search(r"[^aeiou]y$", head)
        else head + ("es" if head.endswith(("s", "x", "ch", "sh")) else "s")
    )
    return body[: -len(head)] + plural


def _item_noun(history: Sequence[Turn], earlier: str) -> str:
    """The things the earlier turn counted ("eight steps" -> "step"), for "the first one"."""
    for text in (earlier, history[-1].answer):
        match = re.search(rf"\b(?:{'|'.join(_COUNTS)})\s+([a-z]+s)\b", text, re.IGNORECASE)
        if match:
            return match.group(1)[:-1]
    return ""


def _replace_reference(
    rest: str,
    words: list[str],
    ref: tuple[int, int, str],
    topic: Topic,
    history: Sequence[Turn],
    earlier: str,
) -> str | None:
    start, end, kind = ref
    spans = [m.span() for m in WORD.finditer(rest)]
    lo, hi = spans[start][0], spans[end - 1][1]
    lowered = [_lower(w) for w in words]
    if kind == "possessive":
        # "what are its main limits in practice?" -> "what are the main limits of X in practice?"
        stop = end
        while (
            stop < len(words)
            and lowered[stop] not in PREPOSITIONS
            and lowered[stop] not in AUXILIARIES
            and (lowered[stop] not in VERBS or stop == end)
            and lowered[stop] not in WH_WORDS
            and lowered[stop] != "and"
        ):
            stop += 1
        if stop == end:
            return None
        noun_end = spans[stop - 1][1]
        return f"{rest[:lo]}the {rest[spans[end][0] : noun_end]} of {topic.phrase}{rest[noun_end:]}"
    if kind == "person":
        if not topic.person:
            return None
        replacement = (
            f"{topic.person}'s"
            if lowered[start] == "his"
            or (lowered[start] == "her" and end < len(words) and _is_content(words[end]))
            else topic.person
        )
    elif kind == "ordinal":
        item = _item_noun(history, earlier)
        ordinal = words[start + 1]
        if item:
            replacement = f"the {ordinal} {item} of {topic.phrase}"
        elif topic.plural:
            replacement = f"the {ordinal} of {topic.phrase}"
        else:
            replacement = f"the {ordinal} one in {topic.phrase}"
    elif kind in ("they", "them") and not topic.plural and topic.authored:
        replacement = f"the authors of {topic.phrase}"
    elif kind in ("they", "them") and not topic.plural:
        replacement = _plural(topic)  # "how often should we do them?" after "What is a safety huddle?"
    elif kind == "one":
        replacement = _indefinite(topic)
    elif kind == "it's":
        replacement = f"{topic.phrase} {'are' if topic.plural else 'is'}"
    else:
        replacement = topic.phrase
    return rest[:lo] + replacement + rest[hi:]


def _attach_aspect(rest: str, words: list[str], topic: Topic) -> str:
    """`rest` with the topic after the aspect it asks about, or at the end."""
    spans = [m.span() for m in WORD.finditer(rest)]
    lowered = [_lower(w) for w in words]
    if len(words) > 2 and lowered[-1] in _MANNER and lowered[-2] in _ELIDED_OBJECT_VERBS:
        # the verb's object is the topic: "what does it take to do properly?" -> "... to do X properly?"
        cut = spans[-2][1]
        return f"{rest[:cut]} {topic.phrase} {core(rest[cut:]).strip()}"
    at = None
    for i in range(len(words) - 1, -1, -1):
        # an aspect noun closing its phrase ("the first step in practice") takes the topic after it
        closes = i == len(words) - 1 or (lowered[i + 1] in PREPOSITIONS and lowered[i - 1] in _ORDINALS)
        # a verb of _PREPOSITION_AFTER takes the topic only where its object would go: "what should
        # I do (first)?" -> "... do with X", not "how do I work out ..." -> "how do with X I ..."
        verb_ends = lowered[i] not in _OPEN_VERBS or i == len(words) - 1 or lowered[i + 1] in _AFTER_DO
        if (lowered[i] in _PREPOSITION_AFTER and verb_ends) or (lowered[i] in ASPECT_WORDS and closes):
            at = i
            break
    if at is None:
        at = len(words) - 1
    word = lowered[at]
    preposition = _PREPOSITION_AFTER.get(word, DEFAULT_PREPOSITION)
    if preposition == "with" and at + 1 < len(words) and lowered[at + 1] == "with":
        return rest  # "what's the problem with ..." already ties itself to something
    if word not in ASPECT_WORDS and word not in _PREPOSITION_AFTER:
        preposition = "with" if word in VERBS or word in STOPWORDS else "in"
    cut = spans[at][1]
    after = core(rest[cut:])
    return f"{core(rest[:cut])} {preposition} {topic.phrase}" + (f" {after}" if after else "")


def _names_topic(question: str, topic: Topic) -> bool:
    """Whether `question` already holds every content term of `topic`."""
    return set(content_terms(topic.phrase)) <= set(content_terms(question))


def _bridge(question: str, history: Sequence[Turn], depth: int) -> str | None:
    """`question` with "the app", "the programme" ... naming the earlier turn's named topic ("who
    hosted the live version of the app?" after "What did the Worcestershire SPC wizard do?"), or
    None. Only a topic with a name in it can be what the noun stands for (after "How do I make a
    funnel plot?", "the model" is some other model); a noun naming the topic's own head always can."""
    words = words_of(question)
    lowered = [_lower(w) for w in words]
    for i in range(len(words) - 1):
        noun = lowered[i + 1]
        if lowered[i] != "the" or noun not in _BRIDGING_NOUNS or not words[i + 1].islower():
            continue
        after = lowered[i + 2] if i + 2 < len(words) else ""
        if after and not any(after in kind for kind in (PREPOSITIONS, AUXILIARIES, VERBS, WH_WORDS)):
            continue  # the noun opens a longer phrase: "the app store"
        earlier = _standalone_earlier(history, depth)
        topic = earlier_topic(earlier, history[-1].answer)
        if topic is None or topic.clause or _names_topic(question, topic):
            return None
        named = any(w[:1].isupper() for w in words_of(topic.phrase))
        if not named and _lower(topic.head) != noun:
            return None
        spans = [m.span() for m in WORD.finditer(question)]
        return _sentence(question[: spans[i][0]] + topic.phrase + question[spans[i + 1][1] :])
    return None


def rewrite_followup(question: str, history: Sequence[Turn], *, _depth: int = 0) -> str:
    """A standalone version of `question` given the conversation so far (oldest turn first).

    Deterministic, no LLM. A question that does not look like a follow-up is returned unchanged.
    """
    text = question.strip()
    if not history:
        return text
    if not is_followup(text):
        return _bridge(text, history, _depth) or text
    earlier = _standalone_earlier(history, _depth)
    topic = earlier_topic(earlier, history[-1].answer)
    if topic is None:
        return _after(earlier, text)  # a statement or a clause is no topic: the turns in order, not garbled
    if _names_topic(text, topic):
        return text  # the follow-up already names the topic
    rest, opened = strip_opener(text)
    rest = core(rest)
    words = words_of(rest)

    if _WHY.match(rest):
        if words_of(earlier)[:1] and _lower(words_of(earlier)[0]) in AUXILIARIES:
            return _sentence(f"Why {_lower_first(core(earlier))}")  # "Does X work?" -> "Why does X work?"
        return _sentence(f"{core(earlier)}, and {rest.lower()}")
    what_about = _WHAT_ABOUT.match(rest)
    if what_about or (opened and words and not _WH_OR_AUX(words[0]) and not _PREPOSITION_START.match(rest)):
        thing = core(rest[what_about.end() :] if what_about else rest)
        if thing and _PREPOSITION_START.match(thing):
            return _sentence(_attach(earlier, thing))
        ref = _reference(words_of(thing))
        if thing and ref is None:
            swapped = _substitute(earlier, topic, thing)
            if swapped:
                return _sentence(swapped)
        if thing and ref is not None:
            resolved = _replace_reference(thing, words_of(thing), ref, topic, history, earlier)
            if resolved:
                return _sentence(f"What about {resolved}")
        return _sentence(f"{core(earlier)}, and what about {thing}") if thing else text
    if _PREPOSITION_START.match(rest):
        return _sentence(_attach(earlier, rest))  # "in primary care?" -> "How do I run ... in primary care?"
    ref = _reference(words)
    if ref is not None:
        resolved = _replace_reference(rest, words, ref, topic, history, earlier)
        if resolved:
            return _sentence(resolved)
        if ref[2] == "person":
            return _after(earlier, text)  # "what should I do for her?": the topic names no person
    if opened and _COPULA_DEFINITION.match(rest) and any(_is_content(w) for w in words[2:]):
        return text  # "and what is a run chart?": a new question after all
    return _sentence(_attach_aspect(rest, words, topic))


def _WH_OR_AUX(word: str) -> bool:
    lower = _lower(word)
    return lower in WH_WORDS or lower in AUXILIARIES or lower.split("'")[0] in WH_WORDS
