"""HTML: the main text only, with headings kept as sections.

We walk the page with lxml rather than use trafilatura's extraction because its output loses
heading levels on common generated sites (pkgdown, MkDocs), and sections matter for citations.
The content root is `<main>`, else `[role=main]`, else a single `<article>`, else `<body>`;
navigation, asides, forms, scripts and styles are dropped (headers and footers too when the
root is the whole body).
"""

from __future__ import annotations

from pathlib import Path

from rag.config import Settings
from rag.errors import IngestError
from rag.ingest.loaders.base import TextBuilder, build_document, one_line, read_bytes
from rag.types import SourceDocument

_ALWAYS_DROPPED = {
    "script", "style", "noscript", "template", "svg", "math", "canvas", "iframe", "object", "embed",
    "nav", "aside", "form", "button", "select", "input", "textarea", "label", "dialog", "menu",
}  # fmt: skip
_PAGE_CHROME = {"header", "footer"}
_CHROME_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar"}
# Class names that mark content hidden from readers or screen chrome (pkgdown's "dont-index" among them).
_CHROME_CLASSES = {
    "hidden", "sr-only", "visually-hidden", "d-none", "dont-index", "noprint", "skip-link",
    "navbar", "breadcrumb", "breadcrumbs",
}  # fmt: skip
_BR = "\x00"  # stands for <br> in the inline buffer; lxml never yields NUL in text
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCKS = {
    "address", "article", "blockquote", "body", "caption", "dd", "details", "div", "dl", "dt",
    "figcaption", "figure", "footer", "header", "hr", "li", "main", "ol", "p", "section", "summary", "ul",
}  # fmt: skip


def load(path: Path, settings: Settings) -> SourceDocument:
    """Read an HTML page's main text.

    Raises:
        IngestError: if the page cannot be parsed or holds no main text.
    """
    import lxml.html
    from lxml.etree import ParserError

    raw = read_bytes(path)
    try:
        page = lxml.html.document_fromstring(raw)
    except (ParserError, ValueError) as exc:
        raise IngestError(f"cannot parse HTML: {one_line(exc, 120)}") from exc
    root = _content_root(page)
    _drop_chrome(root, drop_page_chrome=root.tag == "body")
    walker = _Walker()
    walker.walk(root)
    walker.flush()
    text = walker.builder.text()
    if not text.strip():
        raise IngestError("no main text found: the page holds only navigation or boilerplate")
    return build_document(
        path=path,
        raw=raw,
        fmt="html",
        text=text,
        title=_title(page, walker.first_h1),
        sections=walker.builder.sections(),
        meta={"url": _meta(page, "og:url") or _canonical(page)},
    )


def _content_root(page):
    for xpath in ("//main", "//*[@role='main']"):
        found = page.xpath(xpath)
        if found:
            return found[0]
    articles = page.xpath("//article")
    if len(articles) == 1:
        return articles[0]
    body = page.find("body")
    return body if body is not None else page


def _drop_chrome(root, *, drop_page_chrome: bool) -> None:
    doomed = []
    for el in root.iter():
        if not isinstance(el.tag, str):  # comments and processing instructions
            doomed.append(el)
            continue
        tag = el.tag.lower()
        if (
            tag in _ALWAYS_DROPPED
            or (drop_page_chrome and tag in _PAGE_CHROME)
            or (el.get("role") or "").lower() in _CHROME_ROLES
            or el.get("hidden") is not None
            or (el.get("aria-hidden") or "").lower() == "true"
            or not _CHROME_CLASSES.isdisjoint((el.get("class") or "").lower().split())
        ):
            doomed.append(el)
    for el in doomed:
        if el.getparent() is not None:
            el.drop_tree()  # keeps the element's tail text, which belongs to the parent


class _Walker:
    """Turns the element tree into blocks: headings, paragraphs, preformatted text, tables."""

    def __init__(self) -> None:
        self.builder = TextBuilder()
        self.first_h1: str | None = None
        self._inline: list[str] = []

    def flush(self) -> None:
        lines = "".join(self._inline).split(_BR)
        self._inline = []
        text = "\n".join(" ".join(line.split()) for line in lines).strip()
        if text:
            self.builder.add(text)

    def walk(self, el) -> None:
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if tag in _HEADINGS:
            self.flush()
            heading = " ".join(el.text_content().split())
            if heading:
                self.first_h1 = self.first_h1 or (heading if tag == "h1" else None)
                self.builder.add_heading(_HEADINGS[tag], heading)
        elif tag == "pre":
            self.flush()
            self.builder.add(el.text_content().rstrip())
        elif tag == "table":
            self.flush()
            self.builder.add(_table_text(el))
        elif tag == "br":
            self._inline.append(_BR)
        else:
            block = tag in _BLOCKS or tag in {"td", "th", "tr"}
            if block:
                self.flush()
            self._inline.append(el.text or "")
            for child in el:
                self.walk(child)
            if block:
                self.flush()
        self._inline.append(el.tail or "")


def _table_text(table) -> str:
    lines = []
    for row in table.iter("tr"):
        cells = [" ".join(cell.text_content().split()) for cell in row if cell.tag in ("td", "th")]
        if any(cells):
            lines.append(" | ".join(cells))
    return "\n".join(lines)


def _meta(page, prop: str) -> str | None:
    found = page.xpath(f"//meta[@property='{prop}' or @name='{prop}']/@content")
    return one_line(found[0], 300) if found and found[0].strip() else None


def _canonical(page) -> str | None:
    found = page.xpath("//link[@rel='canonical']/@href")
    return found[0].strip() if found else None


def _title(page, first_h1: str | None) -> str | None:
    """og:title, else the first <h1>, else <title> (which often carries a site-name suffix)."""
    title_el = page.find(".//title")
    fallback = one_line(title_el.text_content(), 300) if title_el is not None else None
    return _meta(page, "og:title") or first_h1 or fallback or None
