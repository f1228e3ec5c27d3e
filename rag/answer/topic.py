"""What an earlier question was about: its topic noun phrase, for rewriting the follow-ups after it.

Rule-based noun-chunk heuristics over the question's shape, no tagger: "What is the Model for
Improvement?" -> "the Model for Improvement"; "How do I read an SPC chart?" -> "an SPC chart";
"How does the Productive Ward work?" -> "the Productive Ward"; "What is the FAA proposing for the
Boeing 737 MAX?" -> "what the FAA is proposing for the Boeing 737 MAX" (an indirect question, so
it still reads after a preposition). The determiner is kept, so the phrase can stand in for "it".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answer.terms import STOPWORDS, word_set

WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\u2019-]*")

# Words a conversation opens a turn with before the question proper ("ok, so what's ...").
OPENERS = word_set(
    "ok okay right so and but also plus then well hmm great thanks cool alright sure now or fine yes yeah "
    "yep understood interesting"
)
DETERMINERS = word_set("a an the this that these those my our your their its his her some any")
PREPOSITIONS = word_set(
    "in for with on at during within across among without under by from after before outside inside "
    "of to about into over between through against like than per via"
)
AUXILIARIES = word_set(
    "is are was were do does did can could should would will has have had may might must shall 's"
)
WH_WORDS = word_set("what which who whom whose when where why how")
# Subjects that are the asker, not the topic: "How do I read it", "Should we use it".
ASKERS = word_set("i we you one people someone anyone teams managers staff they")
# Verbs that end a subject noun phrase ("How does the Productive Ward work", "What does the guide
# cover"): the common verbs of questions put to a library like this one.
VERBS = word_set(
    """
    work works cover covers say says mean means recommend recommends suggest suggests help helps apply
    applies involve involves include includes require requires take takes cost costs compare compares
    differ differs fit fits look looks show shows find finds measure measures improve improves change
    changes start starts begin begins end ends happen happens matter matters affect affects relate
    relates tell tells describe describes propose proposes do did come came fail fails go goes get gets
    lead leads make makes support supports need needs use uses run runs score scores argue argues
    conclude concludes report reports explain explains deal deals handle handles stand stands
    count counts cause causes predict predicts reduce reduces increase increases prevent prevents
    replace replaces last lasts sustain sustains mean meant drive drives stop stops define defines
    """
)
# Words that may close a copula question's topic without being part of it ("What is X about?").
TRAILERS = word_set("about exactly actually really then like again anyway so too very quite for")
# Head nouns of things that have authors: "they" after a question about one of these means its authors.
AUTHORED = word_set(
    "study studies protocol guide guidance report paper review survey trial document brief strategy plan "
    "dissertation thesis article book deck presentation blog post policy directive proposal"
)
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
    quickly soon common commonest typical usual biggest major started starting founded began introduced
    measure measured measuring run running first second last catch wrong goes went happen happens
    catches trouble issue issues point aim aims purpose goal critics critic research literature experts
    rule rules principle principles sign signs criteria criterion component components element elements
    feature features requirement requirements
    """
)
NAME_NOUNS = 2  # nouns a capitalised name may qualify before its verb ("the Francis inquiry find")
_DEGREE = word_set("long much many often far soon quickly")  # "how long", "how often"
# Words that end a copula question's subject and start what is said of it ("Is Lean worth trying
# ...?", "Why is NHS productivity hard to measure?"): the topic is what comes before.
PREDICATES = word_set(
    """
    worth true effective effectively better worse safe useful good bad right wrong possible necessary
    needed required helpful harmful successful enough mandatory compulsory appropriate suitable ready
    backed proven linked related associated hard easy difficult important valid reliable accurate
    """
)
# Verbs that end an object noun phrase ("How do we make an EPR go-live go well?"): the ones that
# are rarely nouns in a question's object.
_OBJECT_ENDS = word_set("go goes went happen happens stick sticks fail fails succeed succeeds last")
# What an existential question asks about: "Is there evidence (that) X works?" is about X.
_EVIDENCE = word_set("evidence research proof data")
_EVIDENCE_QUALIFIERS = word_set("any some good strong real hard much solid published clear")
_PLURAL_SUFFIX = re.compile(r"(?<![su])s$", re.IGNORECASE)  # "steps", "systems"; not "process", "status"


@dataclass(frozen=True)
class Topic:
    """The topic of an earlier question: its noun phrase and what a pronoun needs to know of it."""

    phrase: str  # with its determiner, as the question had it: "a PDSA cycle", "Kotter's model"
    head: str  # the noun the phrase is about: "cycle", "model", "guide"
    plural: bool
    person: str = ""  # a named person the question mentioned ("Lewin" of "Lewin's model"), for "he"/"she"
    clause: bool = False  # an indirect question ("what the FAA is proposing ..."), not a noun phrase
    aspect: str = ""  # what the question asked of the topic, when it opened the phrase ("the benefits")

    @property
    def authored(self) -> bool:
        return self.head.lower() in AUTHORED


def words_of(text: str) -> list[str]:
    return WORD.findall(text)


def strip_opener(text: str) -> tuple[str, bool]:
    """`text` without its conversational opener ("ok, so", "and", "but then"), and whether it had one."""
    rest = text.strip()
    stripped = False
    while True:
        match = re.match(r"^([A-Za-z]+)\b[\s,;:.!-]*", rest)
        if not match or match.group(1).lower() not in OPENERS or match.end() >= len(rest.rstrip("?.! ")):
            break
        rest = rest[match.end() :]
        stripped = True
    return rest, stripped


def core(question: str) -> str:
    """The question without its closing punctuation."""
    return question.strip().rstrip("?.!").strip()


def _lower(word: str) -> str:
    return word.lower().replace("\u2019", "'")


def _head(phrase_words: list[str]) -> str:
    """The head noun: the last word before the first preposition ("guide" of "the CDC guide to ...")."""
    head = phrase_words[-1] if phrase_words else ""
    for i, word in enumerate(phrase_words):
        if i and _lower(word) in PREPOSITIONS:
            break
        head = word
    return head


def _is_plural(head: str) -> bool:
    lower = _lower(head)
    return (
        bool(_PLURAL_SUFFIX.search(lower)) and not lower.endswith(("'s", "ss", "us", "is")) and len(lower) > 3
    )


def person_in(text: str) -> str:
    """A person named in `text`: the owner of a possessive ("Lewin's model" -> "Lewin")."""
    match = re.search(r"\b([A-Z][a-z]+)(?:'s|\u2019s)\b", text)
    return match.group(1) if match else ""


def _has_content(lowered: list[str]) -> bool:
    return any(w not in STOPWORDS and w not in DETERMINERS for w in lowered)


def _span(text: str, words: list[str], start: int, end: int) -> str:
    """The original text from word `start` to word `end` (exclusive), punctuation inside kept."""
    spans = [m.span() for m in WORD.finditer(text)]
    if start >= end or end > len(spans):
        return ""
    return text[spans[start][0] : spans[end - 1][1]]


def _phrase_topic(text: str, words: list[str], start: int, end: int, person: str) -> Topic | None:
    while end > start and _lower(words[end - 1]) in TRAILERS:
        end -= 1
    if end <= start:
        return None
    if not any(_lower(w) not in STOPWORDS and _lower(w) not in ASPECT_WORDS for w in words[start:end]):
        return None  # "it", "that one": nothing to carry
    # "the point of a driver diagram" is about the diagram: a follow-up asks of that, not of its point
    lowered = [_lower(w) for w in words[start:end]]
    aspect = ""
    if len(lowered) > 3 and lowered[0] == "the" and lowered[1] in ASPECT_WORDS and lowered[2] == "of":
        aspect = _span(text, words, start, start + 2)
        start += 3
    phrase = _span(text, words, start, end)
    head = _head(words[start:end])
    return Topic(phrase=phrase, head=head, plural=_is_plural(head), person=person, aspect=aspect)


def topic_of(question: str) -> Topic | None:
    """The topic of a standalone question, or None when it names none ("what are the pitfalls?")."""
    text = core(strip_opener(question)[0])
    words = words_of(text)
    lower = [_lower(w) for w in words]
    person = person_in(text)
    if not words:
        return None
    n = len(words)
    # "Tell me about X", "Explain X", "Describe X"
    if lower[0] in ("tell", "explain", "describe", "define", "summarise", "summarize"):
        start = 3 if lower[:3] == ["tell", "me", "about"] else 1
        return _phrase_topic(text, words, start, n, person)
    i = 1 if lower[0] in WH_WORDS else 0
    counted = _counted_topic(text, words, lower, person)
    if counted is not None:
        return counted
    if i and i < n - 1 and lower[i] in _DEGREE and lower[i + 1] in AUXILIARIES:
        i += 1  # "How long does X take?", "How often should we ...": the question word is two words
    if i and i < n - 1 and lower[i] in VERBS and lower[i] not in AUXILIARIES:
        # "What counts as a shift on a run chart?", "What makes a huddle work?": after the verb
        start = i + 1 + (lower[i + 1] in ("as", "for", "about"))
        return _phrase_topic(text, words, start, n, person)
    if i and i < n and lower[i] in ("kind", "sort", "type") and "of" in lower[i:]:
        # "What kind of study is X?"
        copula = next((j for j in range(i, n) if lower[j] in ("is", "are", "was", "were")), None)
        if copula is not None:
            return _phrase_topic(text, words, copula + 1, n, person)
    if lower[0].endswith("'s") and lower[0][:-2] in WH_WORDS:  # "What's Kotter's model?"
        return _copula_topic(text, words, lower, 1, person)
    if i < n and lower[i] in ("is", "are", "was", "were") and (i or n > 2):
        return _copula_topic(text, words, lower, i + 1, person)
    if i < n and lower[i] in AUXILIARIES:
        subject = i + 1
        if subject < n and lower[subject] in ASKERS:
            # "How do I read an SPC chart?": the object of the verb, after the verb and a particle
            verb = subject + 1
            obj = verb + 1
            while obj < n and lower[obj] in ("up", "out", "on", "off", "about", "with") and obj + 1 < n:
                obj += 1
            # A closing phrase other than "of"/"to" says where or how, not what: "introduce Lean on a
            # surgical ward" is about Lean, "make a funnel plot of length of stay" about the plot.
            topic = _phrase_topic(text, words, obj, _circumstance(words, obj, n), person)
            if topic is not None:
                return topic
        # "How does the Productive Ward work (in primary care)?": the subject, up to its verb
        return _phrase_topic(text, words, subject, _verb_after(lower, subject, n, words), person)
    return _fallback(text, words, person)


def _counted_topic(text: str, words: list[str], lower: list[str], person: str) -> Topic | None:
    """ "How many deaths were registered in ...?" -> "the number of deaths registered in ..." (a
    count asked in the passive or with "there", which a follow-up can then compare or ask again)."""
    n = len(words)
    if n < 5 or lower[0] != "how" or lower[1] not in ("many", "much"):
        return None
    be = next((j for j in range(3, n - 1) if lower[j] in ("is", "are", "was", "were")), None)
    if be is None or lower[be + 1] in ASKERS or any(w in AUXILIARIES for w in lower[2:be]):
        return None  # "How many points are we ...", "How many points do I need ...": not a count of a thing
    after = be + 1 + (lower[be + 1] == "there")
    measure = "number" if lower[1] == "many" else "amount"
    rest = _span(text, words, after, n)
    phrase = f"the {measure} of {_span(text, words, 2, be)}" + (f" {rest}" if rest else "")
    return Topic(phrase=phrase, head=measure, plural=False, person=person)


def _verb_after(lower: list[str], start: int, n: int, words: list[str] | None = None) -> int:
    """Where a subject noun phrase starting at `start` ends: at its verb.

    A known verb ends it ("a run chart need(s)"), and so does the first lower-case word after a
    capitalised name ("the NHS Sustainability Model predict ..."), unless a known verb closing the
    question follows within a few nouns: then the name qualifies them ("the Francis inquiry find at
    ...", "the NHS Improvement theatres report find?").
    """
    for j in range(start + 1, n):
        if lower[j] in VERBS and _has_content(lower[start:j]):
            return j
        title_case = words is not None and words[j - 1].istitle() and words[j][:1].islower()
        # (an acronym often qualifies the noun after it: "the CDC guide")
        if title_case and lower[j] not in PREPOSITIONS and lower[j] != "and" and _has_content(lower[start:j]):
            return _closing_verb(lower, j, n) or j
    return n - 1 if n - start > 1 else n


def _closing_verb(lower: list[str], start: int, n: int) -> int | None:
    """A known verb within NAME_NOUNS words after `start`, with only nouns before it and the end of the
    question or a preposition after it: where a name's noun phrase ends."""
    for j in range(start + 1, min(n, start + 1 + NAME_NOUNS)):
        if lower[j - 1] in PREPOSITIONS or lower[j - 1] in AUXILIARIES or lower[j - 1] in STOPWORDS:
            return None
        if lower[j] in VERBS and (j == n - 1 or lower[j + 1] in PREPOSITIONS):
            return j
    return None


def _circumstance(words: list[str], start: int, n: int) -> int:
    """Where an object noun phrase ends: before its first preposition other than of/to, outside
    names, or before a verb that ends it ("make an EPR go-live go well")."""
    for j in range(start + 1, n):
        if _lower(words[j]) in _OBJECT_ENDS:
            return j
    for j in range(start + 1, n - 1):
        lower = _lower(words[j])
        inside_name = words[j - 1][:1].isupper() and words[j + 1][:1].isupper()
        if lower in PREPOSITIONS and lower not in ("of", "to") and not inside_name:
            return j
    return n


def _copula_topic(text: str, words: list[str], lower: list[str], start: int, person: str) -> Topic | None:
    """The topic after "what is": X, or an indirect question when X goes on with a verb in -ing.

    "Is there evidence (that) X works?" is about X; "Is X worth ...?" and "Why is X hard to ...?"
    about X before what is said of it (PREDICATES)."""
    n = len(words)
    noun = start + 1
    while noun < n - 1 and lower[noun] in _EVIDENCE_QUALIFIERS:
        noun += 1
    if noun < n and lower[start] == "there" and lower[noun] in _EVIDENCE:
        subject = noun + 1 + (noun + 1 < n and lower[noun + 1] in ("that", "for", "on", "about"))
        end = next((j for j in range(subject + 1, n) if lower[j] in AUXILIARIES or lower[j] in VERBS), n)
        topic = _phrase_topic(text, words, subject, end, person)
        if topic is not None:
            return topic
    for j in range(start + 1, n):
        if lower[j] in PREDICATES and _has_content(lower[start:j]):
            n = j
            break
    for j in range(start + 1, n):
        verb = lower[j].endswith("ing") and words[j][:1].islower() and lower[j] not in STOPWORDS
        if verb and words[j - 1][:1].isupper():
            # "What is the FAA proposing for the Boeing 737 MAX?" -> "what the FAA is proposing for ...";
            # a capitalised word in -ing is part of a name ("the Sheffield Microsystem Coaching Academy")
            subject = _span(text, words, start, j)
            rest = _span(text, words, j, n)
            copula = "are" if _is_plural(words[j - 1]) else "is"
            return Topic(
                phrase=f"what {subject} {copula} {rest}", head=words[j - 1], plural=False, clause=True
            )
    return _phrase_topic(text, words, start, n, person)


def _fallback(text: str, words: list[str], person: str) -> Topic | None:
    """The span from the first to the last topic word, with the determiner before it."""
    content = [i for i, w in enumerate(words) if _lower(w) not in STOPWORDS and len(w) > 1]
    if not content:
        return None
    start = content[0]
    if start and _lower(words[start - 1]) in DETERMINERS:
        start -= 1
    return _phrase_topic(text, words, start, content[-1] + 1, person)


def answer_topic(answer: str) -> Topic | None:
    """The subject of an answer's first sentence ("The Model for Improvement is ..."), as a fallback."""
    first = re.split(r"(?<=[.!?])\s", answer.strip(), maxsplit=1)[0]
    match = re.match(r"^([A-Z][^,.;:()\[\]]{2,80}?)\s+(?:is|are|was|were)\b", first)
    if not match:
        return None
    subject = match.group(1)
    first = subject.split()[0]
    if first.lower() in DETERMINERS:  # "The Productive Ward is ..." stands in mid-sentence as "the ..."
        subject = first.lower() + subject[len(first) :]
    words = words_of(subject)
    return _phrase_topic(subject, words, 0, len(words), person_in(subject))
