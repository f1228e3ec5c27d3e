"""View models for the chat page: answer Markdown, citation cards with highlights, Markdown export.

Document text is data, never markup. Everything that comes from a document reaches the page
through `escape_markdown` (for `st.markdown`) or `html_text` (inside the app's own fixed HTML,
shown with `st.html`), so HTML, scripts and Markdown links inside a document show as plain text.
Before that, excerpts are cleaned of their own Markdown syntax (`rag.answer.display`): a quote
reads "small tests of change", not "\\*\\*small tests\\*\\* of change"; the cuts between
highlighted and plain text are placed through the display's map back to the stored offsets.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePath
from urllib.parse import urlsplit

from rag.answer.display import clean, display_text
from rag.answer.layout import answer_layout, has_points, render, source_heading
from rag.types import Answer, AnswerSentence, Citation, KeySource, SourceDocument, Turn

# Characters with a meaning in Streamlit's Markdown: CommonMark and GFM syntax, `$` (LaTeX),
# `:` (emoji shortcodes and colour directives), `<`/`&` (HTML and entities).
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&^=])")
# In an exported file people may read the raw text: escape only what could make a link, HTML or code.
_EXPORT_SPECIALS = re.compile(r"([\\`*_\[\]<>])")
_SPACE = re.compile(r"\s+")

CONTEXT_CHARS = 700  # characters of document shown either side of an excerpt: about a paragraph
HISTORY_TURNS = 3  # earlier exchanges handed to the follow-up rewrite; older ones rarely matter

ABSTAINED_HEADLINE = "The library does not cover this question."

EXCERPT_STYLE = (
    "white-space:pre-wrap;line-height:1.55;font-size:0.95rem;color:#212B32;"
    "border-left:4px solid #005EB8;background:#F8FAFB;padding:0.5rem 0.85rem;border-radius:2px"
)
MARK_STYLE = "background:#FFE9A8;color:inherit;padding:0 2px;border-radius:2px"
CONTEXT_MARK_STYLE = "background:#E8EDEE;color:inherit;padding:0 1px"
KEY_SOURCES_STYLE = "margin:0;padding-left:1.2rem;font-size:0.85rem;line-height:1.45;color:#425563"


def escape_markdown(text: str) -> str:
    """`text` as literal Markdown: every special character backslash-escaped, whitespace collapsed.

    Collapsing newlines keeps a document's line structure (indented code, lists, headings,
    blank-line HTML blocks) from becoming Markdown structure.
    """
    return _MARKDOWN_SPECIALS.sub(r"\\\1", _SPACE.sub(" ", text).strip())


def escape_export(text: str) -> str:
    """`text` for the exported Markdown file: links, HTML and emphasis neutralised, little else."""
    return _EXPORT_SPECIALS.sub(r"\\\1", _SPACE.sub(" ", text).strip())


def html_text(text: str) -> str:
    """`text` escaped for use as the content of an HTML element (quotes too, for attributes)."""
    return html.escape(text, quote=True)


def excerpt_html(before: str, marked: str, after: str, *, mark_style: str = MARK_STYLE) -> str:
    """The app's fixed excerpt box: `marked` highlighted between `before` and `after` (all escaped)."""
    mark = f'<mark style="{mark_style}">{html_text(marked)}</mark>' if marked else ""
    return f'<div style="{EXCERPT_STYLE}">{html_text(before)}{mark}{html_text(after)}</div>'


def page_label(page: int | None, page_end: int | None, *, slides: bool = False) -> str:
    """ "p. 4", "pp. 4–6" ("slide 4", "slides 4–6" for a deck) or "" when the document has no pages."""
    if page is None:
        return ""
    one, many = ("slide", "slides") if slides else ("p.", "pp.")
    if page_end is not None and page_end != page:
        return f"{many} {page}–{page_end}"
    return f"{one} {page}"


def is_slide_deck(source: str) -> bool:
    """Whether a source's pages are slides (a PowerPoint deck)."""
    return PurePath(source).suffix.lower() == ".pptx"


def source_name(source: str) -> str:
    """The file name of a source path (what people recognise)."""
    return PurePath(source).name or source


def section_label(section: str | None, title: str) -> str:
    """The section path without a leading document title (the card already shows the title)."""
    parts = [p.strip() for p in (section or "").split(" > ") if p.strip()]
    if parts and parts[0].casefold() == title.strip().casefold():
        parts = parts[1:]
    return " > ".join(parts)


# Shown with excerpts Tesseract read from a scanned page: the words may hold OCR errors.
OCR_MARK = "OCR text"


def location(citation: Citation) -> str:
    """Where an excerpt lies: page and section, e.g. "p. 4 · Methods > Sampling" ("· OCR text" for scans)."""
    parts = [
        page_label(citation.page, citation.page_end, slides=is_slide_deck(citation.source)),
        section_label(citation.section, citation.title),
    ]
    if citation.ocr:
        parts.append(OCR_MARK)
    return " · ".join(p for p in parts if p)


@dataclass(frozen=True)
class CitationCard:
    """Everything one citation card shows, already cut into plain-text pieces."""

    n: int
    title: str
    location: str
    source: str
    before: str  # excerpt text before the cited sentence
    sentence: str  # the cited sentence (empty when the answerer gave no sentence span)
    after: str
    context_label: str  # "Page 4", "Pages 4–5" or "Surrounding text"; "" when the document is gone
    context_before: str
    context_after: str
    verified: bool
    score: float
    also_in: tuple[str, ...] = ()  # titles of other documents holding the same passage
    key_sources: tuple[KeySource, ...] = ()  # the cited document's own references, with links

    @property
    def excerpt(self) -> str:
        return self.before + self.sentence + self.after

    def excerpt_html(self) -> str:
        return excerpt_html(self.before, self.sentence, self.after)

    def context_html(self) -> str:
        """The excerpt inside its surrounding text, the excerpt shaded."""
        return excerpt_html(
            self.context_before, self.excerpt, self.context_after, mark_style=CONTEXT_MARK_STYLE
        )

    def key_sources_html(self) -> str:
        """The document's key sources as a compact list, each with its link."""
        return key_sources_html(self.key_sources)


def link_label(source: KeySource) -> str:
    """What a key source's link shows: "doi:10.1136/..." or the web site's name."""
    if source.doi and source.url and source.url.endswith(source.doi):
        return f"doi:{source.doi}"
    host = urlsplit(source.url or "").hostname or ""
    return host.removeprefix("www.") or (source.url or "")


def key_sources_html(sources: Sequence[KeySource]) -> str:
    """The app's fixed list of key sources; citation and link text escaped, links open in a new tab."""
    items = []
    for source in sources:
        item = html_text(source.citation)
        if source.url:
            item += (
                f' <a href="{html_text(source.url)}" target="_blank" rel="noopener noreferrer">'
                f"{html_text(link_label(source))}</a>"
            )
        elif source.doi:
            item += f" doi:{html_text(source.doi)}"
        items.append(f"<li>{item}</li>")
    return f'<ol style="{KEY_SOURCES_STYLE}">{"".join(items)}</ol>'


def context_span(doc: SourceDocument, start: int, end: int) -> tuple[int, int, str]:
    """The stretch of `doc.text` to show around [start, end) and its label.

    A paginated document (PDF) shows the whole page or pages the excerpt lies on; other
    documents show about `CONTEXT_CHARS` either side, trimmed to whole lines where possible.
    """
    text = doc.text
    pages = [p for p in doc.pages if p.start < end and p.end > start]
    if pages:
        first, last = pages[0], pages[-1]
        unit = "Slide" if is_slide_deck(doc.source) else "Page"
        label = f"{unit} {first.page}" if first.page == last.page else f"{unit}s {first.page}–{last.page}"
        return min(first.start, start), max(last.end, end), label
    lo, hi = max(0, start - CONTEXT_CHARS), min(len(text), end + CONTEXT_CHARS)
    line_start = text.find("\n", lo, start)
    if lo > 0 and line_start != -1:
        lo = line_start + 1
    line_end = text.rfind("\n", end, hi)
    if hi < len(text) and line_end != -1:
        hi = line_end
    return lo, hi, "Surrounding text"


def citation_card(citation: Citation, doc: SourceDocument | None) -> CitationCard:
    """The card of one citation; `doc` (its stored document) supplies the surrounding text.

    Every piece is display text (Markdown syntax removed); the cited sentence is cut out of the
    shown excerpt where its stored offsets fall, so the highlight covers exactly its words.
    """
    shown = display_text(citation.excerpt, base=citation.start)
    s0, s1 = citation.sentence_start, citation.sentence_end
    if s0 is not None and s1 is not None and citation.start <= s0 < s1 <= citation.end:
        before, sentence, after = shown.split(s0, s1)
    else:
        before, sentence, after = shown.text, "", ""
    label, ctx_before, ctx_after = "", "", ""
    # Only trust the offsets when the stored text still holds the excerpt there (it always should).
    if doc is not None and doc.text[citation.start : citation.end] == citation.excerpt:
        lo, hi, label = context_span(doc, citation.start, citation.end)
        # Cleaned as one stretch, so syntax spanning the excerpt's edges (a link, bold) is read whole.
        context = display_text(doc.text[lo:hi], base=lo)
        head, _, tail = context.split(citation.start, citation.end)
        ctx_before = ("…" if lo > 0 else "") + head
        ctx_after = tail + ("…" if hi < len(doc.text) else "")
    return CitationCard(
        n=citation.n,
        title=citation.title or source_name(citation.source),
        location=location(citation),
        source=source_name(citation.source),
        before=before,
        sentence=sentence,
        after=after,
        context_label=label,
        context_before=ctx_before,
        context_after=ctx_after,
        verified=citation.verified,
        score=citation.score,
        also_in=tuple(ref.title or source_name(ref.source) for ref in citation.also_in),
        key_sources=KeySource.all_in(doc.meta) if doc is not None else (),
    )


def citation_cards(answer: Answer, documents: Mapping[str, SourceDocument | None]) -> list[CitationCard]:
    """One card per citation of `answer`, in citation order."""
    return [citation_card(c, documents.get(c.doc_id)) for c in sorted(answer.citations, key=lambda c: c.n)]


def _marker(numbers: Sequence[int]) -> str:
    return "".join(f"\\[{n}\\]" for n in numbers)


def _sentence_markdown(sentence: AnswerSentence) -> str:
    text = escape_markdown(clean(sentence.text))
    if sentence.citations:
        text += f" **{_marker(sentence.citations)}**"
    if not sentence.verified:
        text = f":orange-badge[Unverified] {text}"
    return text


def answer_markdown(answer: Answer) -> str:
    """The answer as safe Markdown: each sentence escaped, its `[n]` markers in bold,
    unverified sentences flagged with a badge; lead sentences first, then the supporting
    points as a list under each source's title."""
    if answer.abstained or not answer.sentences:
        return escape_markdown(answer.text)
    if not has_points(answer.sentences):
        return " ".join(_sentence_markdown(s) for s in answer.sentences)
    return render(
        answer_layout(answer.sentences, answer.citations),
        _sentence_markdown,
        lambda title: f"**{escape_markdown(source_heading(clean(title)))}**",
    )


def nearest_documents(answer: Answer) -> list[str]:
    """Titles (or file names) of the documents nearest an abstained question, best first."""
    return [ref.title or source_name(ref.source) for ref in answer.nearest_documents]


def history_turns(exchanges: Sequence[tuple[str, Answer]], limit: int = HISTORY_TURNS) -> tuple[Turn, ...]:
    """The last `limit` exchanges as the engine's conversation history."""
    return tuple(Turn(question=q, answer=a.text) for q, a in exchanges[-limit:] if q)


def export_markdown(answer: Answer, when: datetime | None = None) -> str:
    """The answer with its numbered references as a Markdown document (for the download button)."""
    when = when or datetime.now(UTC)
    lines = ["# Change Guide answer", "", f"**Question:** {escape_export(answer.question)}", ""]
    if answer.standalone_question != answer.question:
        lines += [f"*Searched for:* {escape_export(answer.standalone_question)}", ""]
    if answer.abstained:
        lines += [f"**{ABSTAINED_HEADLINE}**", "", escape_export(answer.text), ""]
        if answer.nearest_documents:
            lines += ["Nearest documents in the library:", ""]
            lines += [f"- {escape_export(name)}" for name in nearest_documents(answer)]
            lines.append("")
    else:

        def sentence(s: AnswerSentence) -> str:
            return (
                escape_export(clean(s.text))
                + (f" {_marker(s.citations)}" if s.citations else "")
                + ("" if s.verified else " *(unverified)*")
            )

        if has_points(answer.sentences):
            layout = answer_layout(answer.sentences, answer.citations)
            body = render(
                layout, sentence, lambda title: f"**{escape_export(source_heading(clean(title)))}**"
            )
        else:
            body = " ".join(sentence(s) for s in answer.sentences) or escape_export(answer.text)
        lines += [body, ""]
    if answer.notice:
        lines += [f"> Note: {escape_export(answer.notice)}", ""]
    if answer.citations:
        lines += ["## References", ""]
        for c in sorted(answer.citations, key=lambda c: c.n):
            where = " · ".join(p for p in (location(c), source_name(c.source)) if p)
            lines.append(
                f"**\\[{c.n}\\]** {escape_export(c.title or source_name(c.source))} — {escape_export(where)}"
            )
            lines += ["", f"> {escape_export(clean(c.excerpt))}", ""]
            if c.also_in:
                also = "; ".join(escape_export(r.title or source_name(r.source)) for r in c.also_in)
                lines += [f"*Also in:* {also}", ""]
    lines += [
        "---",
        f"Answered by Change Guide ({answer.backend} backend) on {when:%Y-%m-%d %H:%M} UTC; "
        f"index {answer.index_fingerprint or 'unknown'}. Excerpts are quoted verbatim from the documents.",
        "",
    ]
    return "\n".join(lines)


def export_filename(answer: Answer) -> str:
    """A safe file name for an exported answer, from the first words of its question."""
    words = re.findall(r"[A-Za-z0-9]+", answer.question.lower())[:8]
    return "changeguide-" + ("-".join(words) or "answer") + ".md"


@dataclass(frozen=True)
class Exchange:
    """One question and its answer in a chat, with the citation cards built once when it arrived."""

    id: str
    question: str
    answer: Answer
    cards: tuple[CitationCard, ...]

    @property
    def has_unverified(self) -> bool:
        return any(not s.verified for s in self.answer.sentences)
