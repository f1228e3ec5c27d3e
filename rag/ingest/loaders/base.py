"""What every loader shares: the `Loader` signature and building a `SourceDocument` from parts."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from rag.config import Settings
from rag.errors import IngestError
from rag.types import Format, PageSpan, SectionSpan, SourceDocument, content_hash


class Loader(Protocol):
    """Reads one file into a `SourceDocument`; raises `IngestError` with a one-line reason."""

    def __call__(self, path: Path, settings: Settings) -> SourceDocument: ...


def read_bytes(path: Path) -> bytes:
    """The raw bytes of `path`, with OS errors turned into one-line reasons."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise IngestError(f"cannot read file: {exc.strerror or exc}") from exc


def one_line(text: object, limit: int = 200) -> str:
    """`text` squeezed onto one line and shortened, for reasons shown next to a file name."""
    squeezed = " ".join(str(text).split())
    return squeezed if len(squeezed) <= limit else squeezed[: limit - 1] + "…"


def title_from_filename(path: Path) -> str:
    return path.stem


class TextBuilder:
    """Appends blocks of text and records where pages and headed sections lie in the result.

    Blocks are separated by a blank line, so paragraph boundaries survive for the chunker.
    Sections are flat, non-overlapping spans: each heading's span runs to the next heading,
    and its path names every enclosing heading (`"H1 > H2"`).
    """

    SEPARATOR = "\n\n"

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self._headings: list[tuple[int, str]] = []  # the (level, text) stack of open headings
        self._section_starts: list[tuple[str, int]] = []

    @property
    def length(self) -> int:
        return self._length

    def add(self, block: str) -> tuple[int, int]:
        """Append a block (ignored if blank) and return its [start, end) span."""
        block = block.strip("\n")
        if not block.strip():
            return self._length, self._length
        if self._parts:
            self._parts.append(self.SEPARATOR)
            self._length += len(self.SEPARATOR)
        start = self._length
        self._parts.append(block)
        self._length += len(block)
        return start, self._length

    def add_heading(self, level: int, heading: str, block: str | None = None) -> None:
        """Append a heading (shown as `block`, default the heading itself) and open its section."""
        heading = one_line(heading, limit=300)
        if not heading:
            return
        while self._headings and self._headings[-1][0] >= level:
            self._headings.pop()
        self._headings.append((level, heading))
        start, _ = self.add(block if block is not None else heading)
        self._section_starts.append((" > ".join(h for _, h in self._headings), start))

    def text(self) -> str:
        return "".join(self._parts)

    def sections(self) -> tuple[SectionSpan, ...]:
        return sections_from_starts(self._section_starts, self._length)


def sections_from_starts(starts: Sequence[tuple[str, int]], text_length: int) -> tuple[SectionSpan, ...]:
    """Flat section spans from (path, start) pairs in text order; each runs to the next start."""
    spans = []
    for i, (path, start) in enumerate(starts):
        end = starts[i + 1][1] if i + 1 < len(starts) else text_length
        if end > start:
            spans.append(SectionSpan(path=path, start=start, end=end))
    return tuple(spans)


def build_document(
    *,
    path: Path,
    raw: bytes,
    fmt: Format,
    text: str,
    title: str | None,
    pages: Iterable[PageSpan] = (),
    sections: Iterable[SectionSpan] = (),
    meta: Mapping[str, Any] | None = None,
    page_count: int | None = None,
) -> SourceDocument:
    """A `SourceDocument` with its id, title fallback and file fields filled in.

    Raises:
        IngestError: if no text was extracted.
    """
    if not text.strip():
        raise IngestError("no text found in the file")
    sections = tuple(sections)
    full_meta = {k: v for k, v in (meta or {}).items() if v not in (None, "", [], ())}
    full_meta["file_sha256"] = hashlib.sha256(raw).hexdigest()
    first_heading = sections[0].path.split(" > ")[0] if sections else None
    return SourceDocument(
        doc_id=content_hash(text),
        title=one_line(title or first_heading or title_from_filename(path), limit=300),
        source=str(path),
        format=fmt,
        text=text,
        pages=tuple(pages),
        sections=sections,
        meta=full_meta,
        page_count=page_count,
        size_bytes=len(raw),
        ingested_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


_BLANK_RUNS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


def normalise_newlines(text: str) -> str:
    """CRLF and CR line endings as LF; NUL characters removed (offsets are taken after this)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


def tidy_text(text: str) -> str:
    """`normalise_newlines`, and runs of blank lines squeezed to one (for extracted layouts)."""
    return _BLANK_RUNS.sub("\n\n", normalise_newlines(text))
