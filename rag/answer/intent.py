"""What a question asks for (steps, pitfalls, each side of a comparison, a definition...), from its
wording, and which section headings of a document hold that kind of answer.

The answerer uses both as evidence: a how-to question should be answered from "How to apply it"
or "Key steps", not from "What it is"; a comparison must quote each side. The heading vocabulary
is general (report, guidance and paper headings), not the starter briefs' five headings only.
"""

from __future__ import annotations

import re

from rag.answer.terms import content_terms
from rag.types import IntentKind, QuestionIntent

_FLAGS = re.IGNORECASE

# Wording of each kind of question. A question may ask for several ("What is X and why does it
# matter?"); the order of `_ORDER` decides which kind leads.
_COMPARISON = re.compile(
    r"\b(?:differen(?:ce|ces|t from)|differ|versus|vs\.?|compared?\b|comparison|contrast|"
    r"(?:the )?same (?:thing )?as|better than|worse than|which (?:is|was|did|does|works?|one)\b.*\b(?:better|best|more|worse)|"
    r"better at|or\b[^?]*\?\s*$)",
    _FLAGS,
)
_PITFALLS = re.compile(
    r"\b(?:pitfalls?|go(?:es)? wrong|went wrong|going wrong|mistakes?|the catch|catch\b|downsides?|risks?|"
    r"problems? (?:with|of)|traps?|avoid|fail(?:s|ed|ure|ures|ing)?|criticis\w+|limitations?|drawbacks?|"
    r"warn\w*|watch out|careful|pushback|backfire\w*|misuse\w*|barriers?|obstacles?|why (?:do|does) .* (?:fail|stall|decay)|"
    r"weakness\w*|unintended|side effects?|lessons?)\b",
    _FLAGS,
)
_HOW_TO = re.compile(
    r"(?:^|[.,:;]\s*|\b(?:so|and|ok|okay|right)\s+)(?:how (?:do|can|should|would|could|might|to|best)\b|"
    r"what (?:steps|should|can|could|would|do) (?:i|we|you|a|the|my|our)\b|where (?:do|should) (?:i|we) (?:start|begin)|"
    r"what(?:'s| is) the first (?:thing|step)|steps (?:to|for)|ways to|tips|any advice|advice on|what would help|"
    r"what helps|how (?:do|can|should) (?:i|we) get)"
    r"|\b(?:in practice|step by step|get (?:\w+ )?(?:on board|started)|put (?:it|this) into practice|implement\w*|run an?\b)",
    _FLAGS,
)
_NUMBER = re.compile(
    r"\b(?:how (?:many|much|long|often|big|large|high|low)|what (?:percentage|proportion|share|number|rate|"
    r"figure|amount|size|year|date)|which (?:year|week|month)|when (?:was|did|were)|what was the|per ?cent|%|"
    r"\d+(?:\.\d+)?)",
    _FLAGS,
)
_WHY = re.compile(
    r"\b(?:why|evidence|research (?:say|show)\w*|studies|proof|proven|shown to|does (?:it|this|\w+) (?:really )?work|"
    r"is it worth|effective\w*|impact|outcomes?|what difference does)\b",
    _FLAGS,
)
# "What is X?", "What does X mean?", "define X": a definition, but not "What is the difference".
_DEFINITION = re.compile(
    r"(?:^|[.,:;]\s*)(?:(?:so |and |ok,? )?what(?:'s| is| are| does| do)\b(?! (?:the )?(?:difference|best|first|evidence|point|"
    r"catch|risk|problem|role|rate|number|figure|share))(?: an?| the)?\s+[^?]{1,60}?(?:\s+mean)?\s*(?:\?|$| and\b)|"
    r"\bdefin(?:e|ition)\b|\bmeant by\b|\bmeaning of\b|\bwhat .{1,40} means?\b|\bexplain what\b)",
    _FLAGS,
)
_ORDER: tuple[tuple[IntentKind, re.Pattern[str]], ...] = (
    ("comparison", _COMPARISON),
    ("pitfalls", _PITFALLS),
    ("how-to", _HOW_TO),
    ("number", _NUMBER),
    ("why", _WHY),
    ("definition", _DEFINITION),
)

# Headings that hold each kind of answer (matched anywhere in a heading, lower-cased).
_HEADINGS: dict[IntentKind, re.Pattern[str]] = {
    "how-to": re.compile(
        r"\b(?:how to|how do|apply\w*|application|in practice|practical|putting .* into practice|implement\w*|"
        r"key steps|steps|step-by-step|getting started|what to do|recommend\w*|guidance|guide|method\w*|"
        r"approach\w*|process|procedures?|actions?|checklist|tips|toolkit|doing it|delivering|using|"
        r"good practice|best practice|what works|making it work|advice|instructions|how it works|protocol)\b",
        _FLAGS,
    ),
    "pitfalls": re.compile(
        r"\b(?:pitfalls?|mistakes?|risks?|barriers?|challenges?|limitations?|problems?|what goes wrong|"
        r"failures?|fail\w*|lessons?|cautions?|caveats?|warnings?|criticisms?|critique|drawbacks?|"
        r"unintended|threats?|concerns?|misuse|traps?|what to avoid|obstacles?|weakness\w*)\b",
        _FLAGS,
    ),
    "why": re.compile(
        r"\b(?:evidence|findings|results|outcomes?|research|impact|effect\w*|discussion|conclusions?|"
        r"benefits?|why it matters|why|rationale|what the evidence shows|what we found|key messages|summary)\b",
        _FLAGS,
    ),
    "definition": re.compile(
        r"\b(?:what it is|what is|definitions?|overview|introduction|about|glossary|concepts?|key terms|"
        r"background|what .* means?)\b",
        _FLAGS,
    ),
    "number": re.compile(
        r"\b(?:results|data|figures|statistics|table|key facts|in numbers|measures?|measurement)\b", _FLAGS
    ),
    "comparison": re.compile(r"\b(?:comparison|compared|differences?|versus|vs\.?|contrast)\b", _FLAGS),
}

# The two things compared: "difference between A and B", "A versus B", "A or B", "A the same as B".
_SIDES = (
    re.compile(r"\bdifferen(?:ce|ces) between (?P<a>.+?) and (?P<b>.+?)(?:[?,;:]|\band\b|$)", _FLAGS),
    re.compile(
        r"\b(?:between|compare|comparing) (?P<a>.+?) (?:and|with|to|against) (?P<b>.+?)(?:[?,;:]|$)", _FLAGS
    ),
    re.compile(r"(?P<a>[^,:;?]+?) (?:versus|vs\.?|compared (?:with|to)) (?P<b>[^,:;?]+)", _FLAGS),
    re.compile(
        r"\b(?:does|do|did|would) (?:the )?(?P<a>.+?) compare (?:with|to|against) (?P<b>.+?)(?:[?,;:]|$)",
        _FLAGS,
    ),
    re.compile(r"\bis (?P<a>.+?) the same (?:thing )?as (?P<b>.+?)(?:[?,;:]|$)", _FLAGS),
    re.compile(r"\bhow do (?:the )?(?P<a>.+?) and (?:the )?(?P<b>.+?) differ", _FLAGS),
    re.compile(r"(?P<a>[^,:;?]+?) or (?P<b>[^,:;?]+?)(?:[?:;]|,|$)", _FLAGS),
)
# In "compare hospitals with a league table or a funnel plot" the sides are after "with".
_OR_LEAD_IN = re.compile(r"^.*\b(?:with|between|compare|using|use|of|from|in|choose|pick)\s+", _FLAGS)
# A question asking for an enumeration ("What are Kotter's eight steps?") wants the quoted list.
_ENUMERATION = re.compile(
    r"\b(?:two|three|four|five|six|seven|eight|nine|ten|\d+|steps|stages|phases|components|elements|"
    r"principles|rules|types|kinds|parts|factors|pillars|domains|dimensions|criteria|questions)\b",
    _FLAGS,
)
# Question openers that are not part of a compared side ("should we compare hospitals with...").
_SIDE_NOISE = re.compile(
    r"^(?:what(?:'s| is| are)?|which|who|is|are|should (?:we|i)|do|does|did|how do|were|was|the|a|an)\b\s*",
    _FLAGS,
)


def classify(question: str) -> QuestionIntent:
    """The kinds of answer `question` asks for, the leading one first, and a comparison's sides."""
    text = " ".join(question.split())
    kinds = [kind for kind, pattern in _ORDER if pattern.search(text)]
    if "definition" in kinds and asks_for_list(text):
        kinds.remove("definition")  # "What are the eight steps?" asks for the list, not a definition
    if "comparison" in kinds:
        sides = _sides(text)
        if len(sides) < 2:  # "or" without two nameable things ("...or not?") is not a comparison
            kinds.remove("comparison")
    else:
        sides = ()
    if not kinds:
        kinds = ["general"]
    return QuestionIntent(kinds=tuple(kinds), sides=sides if "comparison" in kinds else ())


def _sides(text: str) -> tuple[tuple[str, ...], ...]:
    """Content terms of each compared side (empty when two sides cannot be told apart)."""
    for pattern in _SIDES:
        match = pattern.search(text)
        if not match or re.search(r"\bor\b", match.group("b")):
            continue  # "compare hospitals with a league table or a funnel plot": the "or" names the sides
        a = match.group("a").strip()
        if pattern is _SIDES[-1]:
            a = _OR_LEAD_IN.sub("", a)
        a = _SIDE_NOISE.sub("", a)
        b = _SIDE_NOISE.sub("", match.group("b").strip())
        terms_a, terms_b = content_terms(a)[-4:], content_terms(b)[:4]  # the words nearest the "or"
        shared = set(terms_a) & set(terms_b)
        side_a = tuple(t for t in dict.fromkeys(terms_a) if t not in shared)
        side_b = tuple(t for t in dict.fromkeys(terms_b) if t not in shared)
        if side_a and side_b:
            return (side_a, side_b)
    return ()


def asks_for_list(question: str) -> bool:
    """Whether the question asks for an enumeration (steps, stages, the five principles...)."""
    return bool(_ENUMERATION.search(question))


def heading_kinds(heading: str | None) -> frozenset[IntentKind]:
    """The kinds of answer a section with this heading holds (none for an unknown heading)."""
    if not heading:
        return frozenset()
    return frozenset(kind for kind, pattern in _HEADINGS.items() if pattern.search(heading))


def last_heading(section: str | None) -> str:
    """The innermost heading of a section path ("Title > How to apply it" -> "How to apply it")."""
    return (section or "").rsplit(" > ", 1)[-1].strip()
