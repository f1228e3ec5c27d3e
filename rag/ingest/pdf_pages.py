"""Every page of a PDF as text: the text layer in reading order, OCR where a page has none."""

from __future__ import annotations

from dataclasses import dataclass

from rag.errors import IngestError
from rag.ingest.loaders.base import one_line, tidy_text
from rag.ingest.pdf_tables import Rule

# A page with fewer visible characters than this has no text layer (a scan carries at most a
# stray page number), and is read with OCR when it holds an image.
MIN_PAGE_CHARS = 5
# A path this narrow (points) and at least this tall is a vertical rule (a table's column line).
MAX_RULE_WIDTH = 2.0
MIN_RULE_HEIGHT = 6.0


@dataclass(frozen=True)
class PdfPages:
    """The text of each physical page (index 0 = page 1) and how it was read."""

    texts: tuple[str, ...]
    ocr_pages: tuple[int, ...] = ()  # 1-based pages whose text is Tesseract's
    unread_pages: tuple[int, ...] = ()  # scanned pages left empty: OCR was not available
    ocr_unavailable: str | None = None  # why, with the fix
    n_tables: int = 0


def read_pages(raw: bytes) -> PdfPages:
    """Text per page: layout for text layers, OCR for image-only pages when Tesseract is there.

    Raises:
        IngestError: if pdfium cannot open the file.
    """
    import pypdfium2 as pdfium

    from rag.ingest.ocr import ocr_page, tesseract_missing
    from rag.ingest.pdf_layout import page_spans, reading_order
    from rag.ingest.pdf_text import PageLines, join_hyphenated, page_text, running_chrome

    try:
        document = pdfium.PdfDocument(raw, password="")
    except pdfium.PdfiumError as exc:
        raise IngestError(f"corrupt PDF: pdfium cannot open it ({one_line(exc, 100)})") from exc
    pages = []
    rules: list[list[Rule]] = []
    ocr_texts: dict[int, str] = {}
    unread: list[int] = []
    missing: str | None = None
    try:
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            _, bottom, _, top = page.get_cropbox()
            spans = page_spans(textpage)
            textpage.close()
            if sum(len(s.text) for s in spans) < MIN_PAGE_CHARS and _has_image(page):
                missing = missing or tesseract_missing()
                if missing is None:
                    ocr_texts[index] = ocr_page(page)
                else:
                    unread.append(index + 1)
                spans = []
            pages.append((spans, bottom, top))
            rules.append(_vertical_rules(page) if spans else [])
            page.close()
    finally:
        document.close()
    chrome = running_chrome(pages)
    texts = []
    n_tables = 0
    for index, ((spans, bottom, top), dropped) in enumerate(zip(pages, chrome, strict=True)):
        if index in ocr_texts:
            texts.append(ocr_texts[index])
            continue
        body = [s for s in spans if id(s) not in dropped]
        layout = PageLines(index + 1, bottom, top, reading_order(body) if body else [], rules[index])
        texts.append(page_text(layout))
        n_tables += layout.n_tables
    texts = join_hyphenated(texts)
    return PdfPages(
        texts=tuple(tidy_text(t).strip("\n") for t in texts),
        ocr_pages=tuple(sorted(i + 1 for i in ocr_texts)),
        unread_pages=tuple(unread),
        ocr_unavailable=missing,
        n_tables=n_tables,
    )


def _vertical_rules(page) -> list[Rule]:
    """Thin vertical lines drawn on the page (path objects), which bound table header cells."""
    import pypdfium2.raw as pdfium_c

    rules = []
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH], max_depth=3):
        left, bottom, right, top = obj.get_bounds()
        if right - left <= MAX_RULE_WIDTH and top - bottom >= MIN_RULE_HEIGHT:
            rules.append(Rule((left + right) / 2, bottom, top))
    return rules


def _has_image(page) -> bool:
    import pypdfium2.raw as pdfium_c

    return any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=3))
