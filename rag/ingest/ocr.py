"""OCR of PDF pages without a text layer: pdfium renders the page, Tesseract reads it.

Tesseract is a system program (Debian `tesseract-ocr` and `tesseract-ocr-eng`), called through
pytesseract (Apache-2.0). We read Tesseract's word table rather than its plain text so that
words it is unsure of (specks, rules and halftone read as letters) can be left out, and its
block and paragraph numbers give paragraph breaks. ocrmypdf was measured too (see
benchmarks/README.md): it runs the same Tesseract, but writes a new PDF through Ghostscript.
"""

from __future__ import annotations

import os
import shutil
from collections import defaultdict

from rag.errors import IngestError

INSTALL_HINT = (
    "install Tesseract: sudo apt-get install tesseract-ocr tesseract-ocr-eng (or scripts/ensure_ocr.sh)"
)
# Tesseract's documentation recommends at least 300 dpi for body text.
OCR_DPI = 300
OCR_LANGUAGE = "eng"
# Words Tesseract gives less confidence than this (0-100) are noise more often than text, and
# lines averaging less than LINE_CONFIDENCE are dropped whole (a halftone strip read as "ssiaei...").
WORD_CONFIDENCE = 30
LINE_CONFIDENCE = 50
# A page normally takes 5-30 s on one loaded core; a page still unread after this is reported.
OCR_TIMEOUT_SECONDS = 600
# One Tesseract thread per page: OpenMP's default (a thread per core) fights the embedder for
# the cores and was 2-3x slower on the shared 2-core machine (benchmarks/README.md). pytesseract
# runs tesseract with this process's environment, so it is set there; a value the user set wins.
TESSERACT_THREADS = "1"


def tesseract_missing() -> str | None:
    """None when OCR can run, else the reason and how to fix it."""
    if shutil.which("tesseract") is None:
        return f"Tesseract is not installed; {INSTALL_HINT}"
    try:
        import pytesseract  # noqa: F401
    except ImportError:
        return "pytesseract is missing; reinstall Change Guide with `make setup`"
    return None


def ocr_page(page) -> str:
    """The text Tesseract reads on a pdfium page, paragraphs separated by blank lines.

    Raises:
        IngestError: if Tesseract fails or times out on the page.
    """
    import pytesseract

    image = page.render(scale=OCR_DPI / 72, grayscale=True).to_pil()
    os.environ.setdefault("OMP_THREAD_LIMIT", TESSERACT_THREADS)
    try:
        data = pytesseract.image_to_data(
            image, lang=OCR_LANGUAGE, output_type=pytesseract.Output.DICT, timeout=OCR_TIMEOUT_SECONDS
        )
    except RuntimeError as exc:  # pytesseract's timeout
        raise IngestError(f"OCR timed out after {OCR_TIMEOUT_SECONDS} s on a page") from exc
    except pytesseract.TesseractError as exc:
        raise IngestError(f"OCR failed: {' '.join(str(exc).split())[:150]}") from exc
    return words_to_text(data)


def words_to_text(data: dict[str, list]) -> str:
    """Tesseract's word table as text: lines in order, a blank line between paragraphs."""
    lines: dict[tuple[int, int, int], list[tuple[str, float]]] = defaultdict(list)
    for text, conf, block, par, line in zip(
        data["text"], data["conf"], data["block_num"], data["par_num"], data["line_num"], strict=True
    ):
        word = str(text).strip()
        if word:
            lines[(int(block), int(par), int(line))].append((word, float(conf)))
    out: list[str] = []
    previous_paragraph = None
    for key in sorted(lines):
        words = lines[key]
        mean = sum(c for _, c in words) / len(words)
        kept = [w for w, c in words if c >= WORD_CONFIDENCE]
        if mean < LINE_CONFIDENCE or not kept:
            continue
        paragraph = key[:2]
        if out:
            out.append("\n\n" if paragraph != previous_paragraph else "\n")
        out.append(" ".join(kept))
        previous_paragraph = paragraph
    return "".join(out)
