"""Plain text in any common encoding (UTF-8 first, else detected with charset-normalizer)."""

from __future__ import annotations

from pathlib import Path

from rag.config import Settings
from rag.errors import IngestError
from rag.ingest.loaders.base import build_document, normalise_newlines, read_bytes
from rag.types import SourceDocument


def decode(raw: bytes) -> tuple[str, str]:
    """Decode `raw` as UTF-8 (BOM tolerated), else with the detected encoding.

    Returns:
        The text and the encoding used.

    Raises:
        IngestError: if the bytes are binary or no encoding fits.
    """
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = list(from_bytes(raw))
    if not matches:
        raise IngestError("cannot detect the text encoding (is this a binary file?)")
    best = matches[0]
    # Short English texts often fit several Windows code pages equally well; Windows-1252 is by
    # far the most common legacy encoding for English, so it wins a tie.
    tied = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    best = next((m for m in tied if "cp1252" in m.could_be_from_charset), best)
    return str(best), best.encoding


def load(path: Path, settings: Settings) -> SourceDocument:
    """Read a text file; the title is the file name (plain text has no headings to trust)."""
    raw = read_bytes(path)
    if b"\x00" in raw[:4096] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IngestError("binary file: this does not look like text")
    text, encoding = decode(raw)
    meta = {} if encoding == "utf-8" else {"encoding": encoding}
    return build_document(
        path=path, raw=raw, fmt="text", text=normalise_newlines(text), title=None, meta=meta
    )
