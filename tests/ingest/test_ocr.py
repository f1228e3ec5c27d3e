"""Scanned PDFs: OCR with the real Tesseract, the reason and install command without it, OCR marks."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import ChunkingSettings, Settings
from rag.errors import IngestError
from rag.ingest.chunking import chunk_document
from rag.ingest.loaders import loader_for
from rag.ingest.ocr import tesseract_missing, words_to_text
from tests.ingest.ingest_files import write_pdf

WIKIPEDIA_SCAN = "ocrmypdf_epson-scan_wikipedia-optical-character-recognition-p1.pdf"
LINN_SCAN = "ocrmypdf_linn-scan_LinnSequencer-brochure.pdf"
needs_tesseract = pytest.mark.skipif(
    tesseract_missing() is not None, reason=f"{tesseract_missing()} (scripts/ensure_ocr.sh)"
)


def load(path: Path):
    return loader_for(path)(path, Settings())


def test_without_tesseract_a_scan_fails_with_the_reason_and_the_install_command(
    shared_docs, tmp_path, monkeypatch
):
    monkeypatch.setenv("PATH", str(tmp_path))  # Tesseract hidden: nothing to run on PATH
    assert tesseract_missing() is not None
    with pytest.raises(IngestError) as info:
        load(shared_docs / WIKIPEDIA_SCAN)
    message = str(info.value)
    assert message.startswith("no text layer: this scanned PDF needs OCR; Tesseract is not installed"), (
        message
    )
    assert "sudo apt-get install tesseract-ocr tesseract-ocr-eng" in message, "the fix is in the message"
    assert "\n" not in message


@needs_tesseract
def test_scanned_page_is_read_and_marked_as_ocr(shared_docs):
    doc = load(shared_docs / WIKIPEDIA_SCAN)
    assert doc.meta["ocr_pages"] == [1] and [p.page for p in doc.pages] == [1]
    words = " ".join(doc.text.split())
    assert "Optical character recognition" in words
    assert "mechanical or electronic conversion of images of typed, handwritten or printed text" in words, (
        words[:400]
    )
    chunks = chunk_document(doc, ChunkingSettings())
    assert chunks and all(c.meta.get("ocr") is True for c in chunks), (
        "every chunk of a scanned page is OCR text"
    )
    assert all(c.text == doc.text[c.start : c.end] for c in chunks)


@needs_tesseract
def test_two_column_scan_keeps_its_columns(shared_docs):
    words = " ".join(load(shared_docs / LINN_SCAN).text.split())
    assert "The LinnSequencer is a state-of-the-art composition and performance tool" in words, words[:300]
    assert "To record a sequence, simply press RECORD and PLAY, then play your MIDI keyboard" in words


@needs_tesseract
def test_page_without_text_layer_in_a_mixed_pdf_gets_ocr(shared_docs, tmp_path):
    import pypdf

    cover = [f"Line {i} of a typed cover page, which has a text layer of its own." for i in range(1, 13)]
    text_pdf = write_pdf(tmp_path / "text.pdf", [cover])
    writer = pypdf.PdfWriter()
    writer.append(str(text_pdf))
    writer.append(str(shared_docs / WIKIPEDIA_SCAN))
    mixed = tmp_path / "mixed.pdf"
    with mixed.open("wb") as handle:
        writer.write(handle)

    doc = load(mixed)
    assert doc.meta["ocr_pages"] == [2], doc.meta
    first, second = (doc.text[p.start : p.end] for p in doc.pages)
    assert first == "\n".join(cover)
    assert "Optical character recognition" in second
    chunks = chunk_document(doc, ChunkingSettings(chunk_tokens=64, overlap_tokens=0))
    marks = [(c.page, c.page_end, bool(c.meta.get("ocr"))) for c in chunks]
    assert (1, 1, False) in marks, f"a chunk of the typed page alone is not OCR text: {marks}"
    assert all(ocr for _, end, ocr in marks if end == 2), f"chunks reaching page 2 are: {marks}"


def test_low_confidence_words_and_lines_are_dropped():
    data = {
        "text": ["Run", "charts", "show", "change", "ssiaeieainet", "", "New", "paragraph"],
        "conf": [96, 95, 12, 91, 8, -1, 90, 93],
        "block_num": [1, 1, 1, 1, 1, 1, 2, 2],
        "par_num": [1, 1, 1, 1, 1, 1, 1, 1],
        "line_num": [1, 1, 1, 1, 2, 2, 1, 1],
    }
    assert words_to_text(data) == "Run charts change\n\nNew paragraph"


def test_without_tesseract_a_mixed_pdf_keeps_its_typed_pages_and_lists_the_unread_ones(
    shared_docs, tmp_path, monkeypatch
):
    import pypdf

    cover = write_pdf(tmp_path / "text.pdf", [["A typed cover page with a text layer of its own."]])
    writer = pypdf.PdfWriter()
    writer.append(str(cover))
    writer.append(str(shared_docs / WIKIPEDIA_SCAN))
    mixed = tmp_path / "mixed.pdf"
    with mixed.open("wb") as handle:
        writer.write(handle)
    monkeypatch.setenv("PATH", str(tmp_path))
    doc = load(mixed)
    assert doc.meta["ocr_missing_pages"] == [2] and "ocr_pages" not in doc.meta, doc.meta
    assert [doc.text[p.start : p.end] for p in doc.pages] == [
        "A typed cover page with a text layer of its own.",
        "",
    ]
