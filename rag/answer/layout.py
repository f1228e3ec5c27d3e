"""The layout of an answer: lead sentences, then the supporting points grouped by source.

One structure for every renderer (CLI, app, export, `Answer.text`): the roles are set by the
answerer (`AnswerSentence.role`), the groups follow from each point's first citation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rag.types import AnswerLayout, AnswerSentence, Citation, SourceGroup


def answer_layout(sentences: Sequence[AnswerSentence], citations: Sequence[Citation]) -> AnswerLayout:
    """Lead sentences in order, then one group per document of the points, in order of first appearance.

    A point without a citation (never from the extractive answerer) joins the lead.
    """
    by_n = {c.n: c for c in citations}
    lead: list[AnswerSentence] = []
    groups: dict[str, tuple[str, list[AnswerSentence]]] = {}
    for sentence in sentences:
        citation = by_n.get(sentence.citations[0]) if sentence.citations else None
        if sentence.role == "lead" or citation is None:
            lead.append(sentence)
            continue
        groups.setdefault(citation.doc_id, (citation.title or citation.source, []))[1].append(sentence)
    return AnswerLayout(
        lead=tuple(lead),
        groups=tuple(SourceGroup(doc, title, tuple(points)) for doc, (title, points) in groups.items()),
    )


def has_points(sentences: Sequence[AnswerSentence]) -> bool:
    """Whether the answer has supporting points to group (a generative answer is all lead)."""
    return any(s.role == "point" for s in sentences)


def source_heading(title: str) -> str:
    """The line that opens a group of points: From "<title>":"""
    return f'From "{title}":'


def markers(numbers: Sequence[int]) -> str:
    return "".join(f"[{n}]" for n in numbers)


def render(
    layout: AnswerLayout,
    sentence: Callable[[AnswerSentence], str],
    heading: Callable[[str], str],
    point_prefix: str = "- ",
) -> str:
    """The layout as text: lead sentences as one paragraph, then per group its heading and one
    line per point. `sentence` renders a sentence with its markers, `heading` a group's title."""
    blocks = [" ".join(sentence(s) for s in layout.lead)] if layout.lead else []
    for group in layout.groups:
        lines = [heading(group.title)] + [point_prefix + sentence(s) for s in group.points]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def layout_text(layout: AnswerLayout) -> str:
    """Plain text with `[n]` markers (what `Answer.text` holds for the extractive answerer)."""
    return render(layout, lambda s: f"{s.text} {markers(s.citations)}".strip(), source_heading)
