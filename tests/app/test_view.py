"""The chat view models: escaping, highlight spans, citation cards, the Markdown export."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime

from rag.app import view
from rag.types import Answer, AnswerSentence, Citation, DocumentRef, KeySource, PageSpan, SourceDocument

TEXT = (
    "# Huddles\n\nIntro paragraph about safety.\n"
    "Huddles are short meetings. They help teams spot risk <script>x</script> early. Most take ten minutes.\n"
    "\nA closing paragraph.\n"
)
DOC = SourceDocument(doc_id="d1", title="Huddles", source="/lib/huddles.md", format="markdown", text=TEXT)


def _citation(n: int = 1, doc: SourceDocument = DOC, **changes) -> Citation:
    """Citation [n] of DOC's second paragraph, its middle sentence cited; `changes` override fields."""
    text = DOC.text
    start, end = text.index("Huddles are"), text.index("ten minutes.") + len("ten minutes.")
    fields = dict(
        n=n,
        chunk_id="c1",
        doc_id=doc.doc_id,
        title=doc.title,
        source=doc.source,
        excerpt=text[start:end],
        start=start,
        end=end,
        score=0.8,
        section="Huddles > Why",
        sentence_start=text.index("They help"),
        sentence_end=text.index("early.") + len("early."),
    )
    return Citation(**(fields | changes))


def _answer(**changes) -> Answer:
    fields = dict(
        question="What are huddles?",
        standalone_question="What are huddles?",
        text="They help teams spot risk <script>x</script> early. [1]",
        abstained=False,
        backend="extractive",
        citations=(_citation(),),
        sentences=(AnswerSentence("They help teams spot risk <script>x</script> early.", (1,)),),
        index_fingerprint="abc123",
    )
    return Answer(**(fields | changes))


def test_escape_markdown_leaves_no_live_syntax():
    hostile = "see [guide](http://evil.example) <b>bold</b> *x* $1 :smile: `code`\n\n    indented"
    escaped = view.escape_markdown(hostile)
    assert not re.search(r"(?<!\\)[\[\]()<>*$`:]", escaped), f"an unescaped special survived: {escaped}"
    assert "\n" not in escaped, "newlines are collapsed so no block structure survives"
    assert re.sub(r"\\(.)", r"\1", escaped) == " ".join(hostile.split()), "unescaping gives the text back"


def test_excerpt_html_escapes_everything_but_its_own_tags():
    html = view.excerpt_html("<a href='x'>", "<script>alert(1)</script>", " & [l](u)")
    assert "<script" not in html and "<a href" not in html, f"document tags reached the HTML: {html}"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&amp;" in html, html
    assert html.count("<mark") == 1 and html.startswith("<div"), "only the app's own markup is live"


def test_card_splits_the_excerpt_around_the_cited_sentence():
    card = view.citation_card(_citation(), DOC)
    assert card.excerpt == _citation().excerpt, "the three pieces make up the excerpt exactly"
    assert card.sentence == "They help teams spot risk <script>x</script> early.", card.sentence
    assert card.before == "Huddles are short meetings. " and card.after == " Most take ten minutes.", card
    assert card.location == "Why", "the section path drops the document title the card already shows"
    assert card.source == "huddles.md"


def test_card_context_is_the_surrounding_text_on_whole_lines():
    card = view.citation_card(_citation(), DOC)
    assert card.context_label == "Surrounding text"
    whole = card.context_before + card.excerpt + card.context_after
    assert whole.strip("…") in TEXT and "Intro paragraph" in card.context_before, f"context: {whole!r}"


def test_card_context_of_a_pdf_is_its_page():
    text = "Page one text.\fPage two starts. Huddles are short. They help early. Done.\fPage three."
    one, two = text.index("\f"), text.rindex("\f")
    doc = SourceDocument(
        doc_id="p",
        title="Report",
        source="/lib/r.pdf",
        format="pdf",
        text=text,
        pages=(PageSpan(1, 0, one), PageSpan(2, one + 1, two), PageSpan(3, two + 1, len(text))),
    )
    start, end = text.index("Huddles"), text.index("Done.")
    citation = _citation(
        doc=doc,
        start=start,
        end=end,
        excerpt=text[start:end],
        page=2,
        page_end=2,
        sentence_start=None,
        sentence_end=None,
        section=None,
    )
    card = view.citation_card(citation, doc)
    assert card.context_label == "Page 2" and card.location == "p. 2", card
    assert card.context_before.endswith("Page two starts. ") and card.context_after.startswith("Done."), card
    assert card.sentence == "" and card.before == citation.excerpt, "no sentence span: nothing is highlighted"


def test_card_lists_the_documents_key_sources_with_safe_links():
    meta = {
        "key_sources": [
            {
                "citation": "Taylor MJ 2014. <b>PDSA</b> review.",
                "doi": "10.1136/bmjqs-2013-001862",
                "url": "https://doi.org/10.1136/bmjqs-2013-001862",
            },
            {
                "citation": "NHS England. 2019. Long Term Plan.",
                "url": "https://www.longtermplan.nhs.uk/a?b=1&c=2",
            },
            {"citation": "Plain citation. 2001."},
        ]
    }
    doc = dataclasses.replace(DOC, meta=meta)
    card = view.citation_card(_citation(doc=doc), doc)
    assert [s.citation for s in card.key_sources][-1] == "Plain citation. 2001."
    html = card.key_sources_html()
    assert html.count("<li>") == 3 and html.count("<a ") == 2, html
    assert (
        '<a href="https://doi.org/10.1136/bmjqs-2013-001862" target="_blank" rel="noopener noreferrer">'
        in html
    )
    assert ">doi:10.1136/bmjqs-2013-001862</a>" in html, "a DOI link is labelled with the DOI"
    assert (
        'href="https://www.longtermplan.nhs.uk/a?b=1&amp;c=2"' in html and ">longtermplan.nhs.uk</a>" in html
    )
    assert "&lt;b&gt;PDSA&lt;/b&gt;" in html and "<b>" not in html, "citation text is escaped"
    assert view.citation_card(_citation(), DOC).key_sources == (), "a document without key sources lists none"
    assert view.link_label(KeySource("x", None, "https://www.kingsfund.org.uk/p")) == "kingsfund.org.uk"


def test_card_without_its_document_has_no_context():
    card = view.citation_card(_citation(), None)
    assert card.context_label == "" and card.excerpt == _citation().excerpt


def test_answer_markdown_bolds_markers_and_flags_unverified_sentences():
    answer = _answer(
        sentences=(
            AnswerSentence("Huddles are short meetings.", (1,)),
            AnswerSentence("They cure everything.", (1, 2), verified=False),
        )
    )
    markdown = view.answer_markdown(answer)
    assert "meetings\\. **\\[1\\]**" in markdown, markdown
    assert ":orange-badge[Unverified] They cure everything\\. **\\[1\\]\\[2\\]**" in markdown, markdown


def test_abstention_export_lists_the_nearest_documents():
    answer = _answer(
        abstained=True,
        citations=(),
        sentences=(),
        text="The library does not seem to cover this.",
        nearest_documents=(DocumentRef("d1", "Huddles", "/lib/huddles.md", 0.1),),
    )
    exported = view.export_markdown(answer, when=datetime(2026, 1, 2, 3, 4, tzinfo=UTC))
    assert view.ABSTAINED_HEADLINE in exported and "- Huddles" in exported, exported
    assert "## References" not in exported


def test_export_has_the_answer_and_numbered_references_with_safe_excerpts():
    exported = view.export_markdown(_answer(), when=datetime(2026, 1, 2, 3, 4, tzinfo=UTC))
    assert "**Question:** What are huddles?" in exported
    assert "early. \\[1\\]" in exported, "the answer keeps its markers"
    assert "**\\[1\\]** Huddles — Why · huddles.md" in exported, exported
    assert (
        "> Huddles are short meetings. They help teams spot risk \\<script\\>x\\</script\\> early."
        in exported
    )
    assert not re.search(r"(?<!\\)<script", exported), "no live HTML in the exported file"
    assert "index abc123" in exported and "2026-01-02 03:04" in exported
    assert view.export_filename(_answer()) == "changeguide-what-are-huddles.md"


def test_history_turns_keeps_the_last_exchanges():
    exchanges = [(f"q{i}", _answer(text=f"a{i}")) for i in range(5)]
    turns = view.history_turns(exchanges)
    assert [(t.question, t.answer) for t in turns] == [("q2", "a2"), ("q3", "a3"), ("q4", "a4")]


def test_page_labels():
    assert (
        view.page_label(None, None) == ""
        and view.page_label(3, 3) == "p. 3"
        and view.page_label(3, 5) == "pp. 3–5"
    )
