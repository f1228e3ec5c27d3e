"""The answer layout (lead sentences, then points by source) and how CLI, app and export show it."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

from rag.answer.layout import answer_layout, has_points, layout_text
from rag.app import view
from rag.cli.ask import print_answer
from rag.types import Answer, AnswerSentence, Citation

DOC_A = "Run charts show data over time. A shift is six or more points above the median. Trends need five."
DOC_B = "Funnel plots compare units. Control limits widen for small units."


def _citation(n: int, doc_id: str, title: str, text: str, start: int, end: int) -> Citation:
    return Citation(
        n=n, chunk_id=f"c{n}", doc_id=doc_id, title=title, source=f"/lib/{doc_id}.md",
        excerpt=text[start:end], start=start, end=end, score=0.9,
    )  # fmt: skip


CITATIONS = (
    _citation(1, "a", "Run charts", DOC_A, 0, len(DOC_A)),
    _citation(2, "b", "Funnel plots", DOC_B, 0, len(DOC_B)),
)
SENTENCES = (
    AnswerSentence("A shift is six or more points above the median.", (1,), role="lead"),
    AnswerSentence("Funnel plots compare units.", (2,), role="point"),
    AnswerSentence("Run charts show data over time.", (1,), role="point"),
    AnswerSentence("Control limits widen for small units.", (2,), role="point"),
)


def _answer(sentences=SENTENCES) -> Answer:
    layout = answer_layout(sentences, CITATIONS)
    return Answer(
        question="How do I read a run chart?",
        standalone_question="How do I read a run chart?",
        text=layout_text(layout),
        abstained=False,
        backend="extractive",
        citations=CITATIONS,
        sentences=sentences,
    )


def test_points_are_grouped_by_source_in_order_of_first_appearance():
    layout = answer_layout(SENTENCES, CITATIONS)
    assert [s.text for s in layout.lead] == [SENTENCES[0].text]
    assert [(g.title, [p.text for p in g.points]) for g in layout.groups] == [
        ("Funnel plots", ["Funnel plots compare units.", "Control limits widen for small units."]),
        ("Run charts", ["Run charts show data over time."]),
    ], layout.groups


def test_layout_text_reads_lead_then_sources_each_point_with_its_marker():
    text = _answer().text
    assert text == (
        "A shift is six or more points above the median. [1]\n\n"
        'From "Funnel plots":\n- Funnel plots compare units. [2]\n- Control limits widen for small units. [2]\n\n'
        'From "Run charts":\n- Run charts show data over time. [1]'
    ), text


def test_an_answer_of_lead_sentences_only_has_no_groups():
    leads = tuple(AnswerSentence(s.text, s.citations) for s in SENTENCES[:2])
    assert not has_points(leads)
    layout = answer_layout(leads, CITATIONS)
    assert layout.groups == () and len(layout.lead) == 2
    assert "From" not in layout_text(layout)


def test_cli_prints_the_layout():
    out = io.StringIO()
    print_answer(_answer(), out)
    body = out.getvalue().split("\nSources:\n")[0]
    assert body.startswith("A shift is six or more points above the median. [1]\n"), body
    assert '\nFrom "Funnel plots":\n  - Funnel plots compare units. [2]\n' in body, body
    assert '\nFrom "Run charts":\n  - Run charts show data over time. [1]\n' in body, body
    assert body.index("Funnel plots") < body.index('From "Run charts"'), "groups keep their order"


def test_app_markdown_shows_lead_then_a_list_per_source():
    markdown = view.answer_markdown(_answer())
    blocks = markdown.split("\n\n")
    assert len(blocks) == 3, markdown
    assert (
        blocks[0].startswith("A shift is six or more points above the median") and r"**\[1\]**" in blocks[0]
    )
    head, *items = blocks[1].split("\n")
    assert "From" in head and "Funnel plots" in head and head.startswith("**"), head
    assert [i.startswith("- ") for i in items] == [True, True] and all(r"**\[2\]**" in i for i in items), (
        items
    )
    assert not re.search(r"(?<!\\)[\[\]]", markdown.replace("**", "")), "markers stay escaped"


def test_export_uses_the_same_layout():
    exported = view.export_markdown(_answer(), when=datetime(2026, 1, 2, 3, 4, tzinfo=UTC))
    assert "A shift is six or more points above the median. \\[1\\]\n\n**From" in exported, exported
    assert "- Funnel plots compare units. \\[2\\]\n- Control limits widen" in exported, exported
    assert '**From "Run charts":**\n- Run charts show data over time. \\[1\\]' in exported, exported


def test_generative_answers_keep_one_paragraph():
    leads = (AnswerSentence("Huddles are short.", (1,)), AnswerSentence("They help.", (2,), verified=False))
    answer = _answer(leads)
    assert view.answer_markdown(answer).count("\n") == 0
    out = io.StringIO()
    print_answer(answer, out)
    assert "From" not in out.getvalue().split("Sources:")[0]
