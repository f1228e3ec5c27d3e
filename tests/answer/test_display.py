"""Display text: Markdown syntax removed from excerpts, with every shown character mapped to the stored text."""

from __future__ import annotations

import pytest

from rag.answer.display import TABLE_CELL_SEPARATOR, clean, display_text
from rag.app import view
from rag.config import Settings
from rag.ingest.loaders import loader_for
from rag.types import Citation

RUN_CHARTS = "nhsr-blog_a-run-chart-is-not-a-run-chart-is-not-a-run-chart.md"


def assert_maps_back(stored: str, base: int = 0) -> None:
    """Every shown character is the stored character at its offset (or a separator the cleaning added)."""
    shown = display_text(stored, base)
    assert len(shown.offsets) == len(shown.text)
    assert list(shown.offsets) == sorted(shown.offsets), "offsets never go back"
    for ch, offset in zip(shown.text, shown.offsets, strict=True):
        if ch not in TABLE_CELL_SEPARATOR:
            assert stored[offset - base] == ch, f"shown {ch!r} maps to stored {stored[offset - base]!r}"


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        (
            r"Plan\-Do\-Study\-Act \(PDSA\) cycles \+ run charts",
            "Plan-Do-Study-Act (PDSA) cycles + run charts",
        ),
        (
            "Use **small tests** of __change__, *then* _spread_ ~~slowly~~.",
            "Use small tests of change, then spread slowly.",
        ),
        ("***b(n−1,0.5)***, where ***n*** is the number", "b(n−1,0.5), where n is the number"),
        (
            'See [the NHS-R guide](https://nhsrway.org/a_(b) "t") and ![chart](img/c.png).',
            "See the NHS-R guide and chart.",
        ),
        ("A [reference link][1] and <https://example.org/x>.", "A reference link and https://example.org/x."),
        ("## Why huddles work ##\n\nText.", "Why huddles work\n\nText."),
        ("> A quoted line\n> and another", "A quoted line\nand another"),
        ("| Ward | Before |\n|---|:---:|\n| A | 12% |", "Ward · Before\nA · 12%"),
        ("Run `qic()` first.", "Run qic() first."),
        ("snake_case_names, 2*3*4 and C:\\Users stay", "snake_case_names, 2*3*4 and C:\\Users stay"),
        (r"a literal \*star\* and \\ backslash", "a literal *star* and \\ backslash"),
        ("half of **a bold phrase cut by the excerpt", "half of a bold phrase cut by the excerpt"),
    ],
)
def test_markdown_syntax_is_removed_and_every_character_maps_back(stored, shown):
    assert display_text(stored).text == shown
    assert_maps_back(stored)
    assert_maps_back(stored, base=1234)


def test_shown_spans_map_to_stored_spans_and_back():
    stored = r"Intro. Teams used **PDSA cycles** \(small tests\) to learn. End."
    shown = display_text(stored, base=100)
    a = shown.text.index("PDSA cycles")
    s, e = shown.to_stored(a, a + len("PDSA cycles"))
    assert stored[s - 100 : e - 100] == "PDSA cycles"
    assert shown.to_shown(s, e) == (a, a + len("PDSA cycles"))
    sentence = stored.index("Teams"), stored.index("learn.") + len("learn.")
    before, cited, after = shown.split(100 + sentence[0], 100 + sentence[1])
    assert (before, cited, after) == ("Intro. ", "Teams used PDSA cycles (small tests) to learn.", " End.")
    s, e = shown.to_stored(len(before), len(before) + len(cited))
    assert (s - 100, e - 100) == sentence, "the highlighted words map back to the stored sentence exactly"


def test_plain_text_is_unchanged():
    text = "Huddles are short meetings. They help teams spot risk <script>x</script> early."
    shown = display_text(text, base=7)
    assert shown.text == text and shown.offsets == tuple(range(7, 7 + len(text)))
    assert display_text("").text == "" and clean("") == ""


def test_card_of_a_real_markdown_excerpt_highlights_the_cited_words(shared_docs):
    """A quote from a real NHS-R blog post with bold-italic maths: shown clean, highlight on its sentence."""
    path = shared_docs / RUN_CHARTS
    doc = loader_for(path)(path, Settings())
    start = doc.text.index("In run charts, crossings are easily counted")
    sentence_start = doc.text.index("Thus, the total number of crossings")
    end = doc.text.index("is the success probability.") + len("is the success probability.")
    citation = Citation(
        n=1,
        chunk_id="c",
        doc_id=doc.doc_id,
        title=doc.title,
        source=doc.source,
        excerpt=doc.text[start:end],
        start=start,
        end=end,
        score=0.9,
        sentence_start=sentence_start,
        sentence_end=end,
    )
    assert "***b(n−1,0.5)***" in citation.excerpt, "the stored excerpt stays verbatim"
    card = view.citation_card(citation, doc)
    assert card.sentence == (
        "Thus, the total number of crossings has a binomial distribution, b(n−1,0.5), "
        "where n is the number of data points and 0.5 is the success probability."
    ), card.sentence
    assert card.before.startswith("In run charts, crossings") and card.after == ""
    assert "*" not in card.excerpt_html() and "***" not in card.context_html()
    shown = display_text(citation.excerpt, base=citation.start)
    a = len(card.before)
    s, e = shown.to_stored(a, a + len(card.sentence))
    assert (s, e) == (sentence_start, end), "the highlighted words map back to the cited sentence"
    assert (
        doc.text[s:e].startswith("Thus, the total number")
        and doc.text[citation.start : citation.end] == citation.excerpt
    )


def test_a_citation_is_relocated_to_its_excerpts_own_slide_and_section():
    from rag.answer.locate import locate
    from rag.types import PageSpan, SectionSpan

    pages = (PageSpan(9, 0, 100), PageSpan(10, 102, 150), PageSpan(11, 152, 400))
    sections = (SectionSpan("Hazard function", 0, 102), SectionSpan("Censuring", 102, 400))
    citation = Citation(
        n=1,
        chunk_id="c",
        doc_id="d",
        title="Deck",
        source="/x/deck.pptx",
        excerpt="x" * 40,
        start=200,
        end=240,
        score=0.5,
        page=9,
        page_end=11,
        section="Hazard function",
    )
    moved = locate(citation, pages, sections)
    assert (moved.page, moved.page_end, moved.section) == (11, 11, "Censuring")
    assert locate(moved, pages, sections) is moved, "already right: unchanged"
    assert locate(citation, (), ()) is citation, "a document without spans keeps the chunk's location"
