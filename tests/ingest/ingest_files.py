"""Builders for the files ingestion tests need: real PDFs, DOCX files and broken ones."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path


def write_pdf(path: Path, pages: Sequence[Sequence[str]], title: str | None = None) -> Path:
    """A small, valid PDF with a Helvetica text layer: one list of lines per page."""
    n = len(pages)
    # Objects: 1 catalog, 2 page tree, 3 font, 4 info, then (page, content) pairs.
    page_ids = [5 + 2 * i for i in range(n)]
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % p for p in page_ids), n),
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        4: b"<< /Title (%s) >>" % (title or "").encode("latin-1"),
    }
    for page_id, lines in zip(page_ids, pages, strict=True):
        ops = [b"BT /F1 11 Tf 14 TL 72 740 Td"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(b"(%s) Tj T*" % escaped.encode("latin-1"))
        ops.append(b"ET")
        stream = b"\n".join(ops)
        objects[page_id] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (page_id + 1)
        )
        objects[page_id + 1] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    xref = len(out)
    size = max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += b"%010d 00000 n \n" % offsets[number]
    info = b" /Info 4 0 R" if title else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (size, info, xref)
    path.write_bytes(bytes(out))
    return path


def encrypt_pdf(source: Path, target: Path, user_password: str, owner_password: str = "owner") -> Path:
    """`source` encrypted with pypdf's writer (RC4, which needs no extra crypto library)."""
    import pypdf

    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(source))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="RC4-128")
    with target.open("wb") as handle:
        writer.write(handle)
    return target


def blank_pdf(path: Path, pages: int = 2) -> Path:
    """A PDF whose pages have no text layer at all, like an unprocessed scan."""
    import pypdf

    writer = pypdf.PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=612, height=792)
    with path.open("wb") as handle:
        writer.write(handle)
    return path


def write_docx(path: Path, title: str = "Discharge before noon", author: str = "A. Manager") -> Path:
    """A DOCX with a title, nested headings, paragraphs and a table."""
    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.core_properties.author = author
    document.add_heading("Patient flow", level=1)
    document.add_paragraph("Discharge planning starts on the day of admission.")
    document.add_heading("Criteria-led discharge", level=2)
    document.add_paragraph("Nurses discharge patients who meet criteria agreed by the consultant.")
    table = document.add_table(rows=2, cols=3)
    for row, values in zip(table.rows, [("Ward", "Before", "After"), ("A", "12%", "31%")], strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.add_heading("Results", level=1)
    document.add_paragraph("Morning discharges rose on both wards.")
    document.save(str(path))
    return path


def zip_bomb_docx(path: Path, expanded_mb: int) -> Path:
    """A zip named .docx holding a member of `expanded_mb` MB of zeros (compresses ~1000:1)."""
    block = b"\0" * (1024 * 1024)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
        with archive.open("word/media/padding.bin", "w", force_zip64=True) as member:
            for _ in range(expanded_mb):
                member.write(block)
    return path


def write_pptx(path: Path) -> Path:
    """A three-slide deck: a title slide, a slide with a table and speaker notes, an untitled slide."""
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[0])
    first.shapes.title.text = "Discharge before noon"
    first.placeholders[1].text = "Ward 7 improvement team"
    second = deck.slides.add_slide(deck.slide_layouts[5])  # title only
    second.shapes.title.text = "Results by ward"
    # Placed lower on the slide but added first: reading order follows position, not z-order.
    note_box = second.shapes.add_textbox(Inches(1), Inches(6), Inches(6), Inches(1))
    note_box.text_frame.text = "Both wards improved within six weeks."
    table = second.shapes.add_table(3, 3, Inches(1), Inches(2), Inches(6), Inches(2)).table
    for r, values in enumerate([("Ward", "Before", "After"), ("A", "12%", "31%"), ("B", "9%", "24%")]):
        for c, value in enumerate(values):
            table.cell(r, c).text = value
    second.notes_slide.notes_text_frame.text = "Mention that ward B started two weeks later."
    third = deck.slides.add_slide(deck.slide_layouts[6])  # blank: no title placeholder
    third.shapes.add_textbox(Inches(1), Inches(1), Inches(6), Inches(1)).text_frame.text = "Questions?"
    deck.save(str(path))
    return path
