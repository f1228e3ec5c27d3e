"""PowerPoint (PPTX) with python-pptx: each slide is a page, its title a section.

A slide's text comes in reading order (title, then shapes top to bottom, left to right, groups
opened), tables as readable rows, then the speaker notes under a "Speaker notes" heading so a
citation of them says so. Pictures carry no text and are passed over.
"""

from __future__ import annotations

import io
from pathlib import Path

from rag.config import Settings
from rag.errors import IngestError
from rag.ingest.loaders.archive import check_office_zip
from rag.ingest.loaders.base import TextBuilder, build_document, one_line, read_bytes
from rag.ingest.loaders.tabular import cell_text, grid_lines
from rag.types import PageSpan, SourceDocument

NOTES_HEADING = "Speaker notes"
# Shapes whose tops differ by less than this share of the slide height sit on one line and are
# read left to right (text boxes placed by hand rarely align to the EMU).
SAME_LINE_SHARE = 0.02


def load(path: Path, settings: Settings) -> SourceDocument:
    """Read a deck's slides, tables and speaker notes; the slide number is the page.

    Raises:
        IngestError: not a zip / PPTX archive, a zip bomb, or python-pptx cannot read it.
    """
    raw = read_bytes(path)
    check_office_zip(raw, "PPTX", "ppt/presentation.xml", settings.ingest.max_docx_expanded_mb)
    from pptx import Presentation

    try:
        deck = Presentation(io.BytesIO(raw))
    except Exception as exc:  # python-pptx raises KeyError, ValueError, lxml errors ... on bad parts
        raise IngestError(f"could not read PPTX: {type(exc).__name__}: {one_line(exc, 120)}") from exc

    line = int((deck.slide_height or 6858000) * SAME_LINE_SHARE)
    builder = TextBuilder()
    pages: list[PageSpan] = []
    n_tables = n_notes = 0
    for number, slide in enumerate(deck.slides, start=1):
        start = builder.length
        title_shape = slide.shapes.title
        title = one_line(_frame_text(title_shape.text_frame)) if title_shape is not None else ""
        builder.add_heading(1, title or f"Slide {number}")
        for shape in _reading_order(slide.shapes, line):
            if title_shape is not None and shape.shape_id == title_shape.shape_id:
                continue
            if getattr(shape, "has_table", False) and shape.has_table:
                rows = [[cell_text(c.text) for c in row.cells] for row in shape.table.rows]
                lines = grid_lines(rows)
                if lines:
                    builder.add("\n".join(lines))
                    n_tables += 1
            elif shape.has_text_frame:
                builder.add(_frame_text(shape.text_frame))
        notes = ""
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = _frame_text(slide.notes_slide.notes_text_frame)
        if notes:
            builder.add_heading(2, NOTES_HEADING)
            builder.add(notes)
            n_notes += 1
        # The separator before the next slide belongs to neither: spans end at the slide's text.
        pages.append(PageSpan(page=number, start=start + (2 if start else 0), end=builder.length))
    core = deck.core_properties
    # Templates leave their own name as the title ("NHSBSA Plasma Screen Presentation Template"):
    # the first slide's title names the deck better.
    first = builder.sections()[0].path if builder.sections() else None
    title = first if first and not first.startswith("Slide ") else (core.title or "").strip() or None
    return build_document(
        path=path,
        raw=raw,
        fmt="pptx",
        text=builder.text(),
        title=title,
        pages=pages,
        sections=builder.sections(),
        meta={
            # Decks are made from templates: the last save dates the content, not the template's creation.
            "year": (core.modified or core.created).year if (core.modified or core.created) else None,
            "n_tables": n_tables,
            "notes_slides": n_notes,
        },
        page_count=len(deck.slides),
    )


def _frame_text(frame) -> str:
    """A text frame's paragraphs, one a line; PowerPoint's line breaks and tab runs as spaces."""
    lines = []
    for paragraph in frame.paragraphs:
        text = " ".join(paragraph.text.replace("\x0b", " ").split())
        if text:
            lines.append(text)
    return "\n".join(lines)


def _reading_order(shapes, line: int) -> list:
    """Shapes top to bottom, left to right within a line; a group's shapes in their own order."""

    def key(shape):
        return ((shape.top or 0) // max(line, 1), shape.left or 0)

    ordered = []
    for shape in sorted(shapes, key=key):
        if shape.shape_type is not None and hasattr(shape, "shapes"):  # a group
            ordered += _reading_order(shape.shapes, line)
        else:
            ordered.append(shape)
    return ordered
