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
        meta={"url": _meta(page, "og:url") or _canonical(page), "n_tables": walker.n_tables},
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
        self.n_tables = 0
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
            table_text = _table_text(el)
            self.n_tables += bool(table_text)
            self.builder.add(table_text)
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


# A colspan or rowspan beyond this is a layout trick or an error, not a table's structure.
MAX_SPAN = 100


def _table_text(table) -> str:
    """Rows as "Column: value; ..." lines after the caption (rag.ingest.tables).

    Header rows are those in <thead>, else the leading rows made of <th> cells only; colspan
    and rowspan repeat a header cell over the columns it spans (two-level headers) and leave
    body cells once.
    """
    from rag.ingest.tables import looks_like_header, render_table

    grid: list[list[str]] = []
    pending: dict[int, tuple[int, str]] = {}  # column -> (rows still covered, text) from rowspans
    header_rows = 0
    all_th_prefix = True
    for row in table.iter("tr"):
        if _nearest_table(row) is not table:
            continue  # rows of a nested table belong to it
        cells = [c for c in row if isinstance(c.tag, str) and c.tag.lower() in ("td", "th")]
        in_head = any(a.tag == "thead" for a in row.iterancestors() if isinstance(a.tag, str))
        is_header = in_head or (all_th_prefix and bool(cells) and all(c.tag.lower() == "th" for c in cells))
        all_th_prefix = all_th_prefix and is_header
        out: list[str] = []
        column = 0
        for cell in cells:
            while column in pending:
                out, column = _fill(out, column, pending, is_header)
            text = " ".join(cell.text_content().split())
            colspan, rowspan = _span(cell, "colspan"), _span(cell, "rowspan")
            for k in range(colspan):
                out.append(text if k == 0 or is_header else "")
                if rowspan > 1:
                    pending[column] = (rowspan - 1, text)
                column += 1
        while column in pending:
            out, column = _fill(out, column, pending, is_header)
        if any(out):
            grid.append(out)
            if is_header and header_rows == len(grid) - 1:  # header rows lead the table
                header_rows += 1
    if not grid:
        return ""
    if not header_rows and looks_like_header(grid[0], grid[1:]):
        header_rows = 1
    caption = table.find("caption")
    caption_text = " ".join(caption.text_content().split()) if caption is not None else None
    return render_table(grid, min(header_rows, len(grid) - 1), caption_text)


def _fill(out: list[str], column: int, pending: dict[int, tuple[int, str]], is_header: bool):
    left, text = pending.pop(column)
    out.append(text if is_header else "")
    if left > 1:
        pending[column] = (left - 1, text)
    return out, column + 1


def _span(cell, attribute: str) -> int:
    try:
        return max(1, min(MAX_SPAN, int(cell.get(attribute) or 1)))
    except ValueError:
        return 1


def _nearest_table(el):
    for ancestor in el.iterancestors():
        if isinstance(ancestor.tag, str) and ancestor.tag.lower() == "table":
            return ancestor
    return None


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
