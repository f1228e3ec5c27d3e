"""Markdown: YAML front matter becomes metadata, headings become sections, the body stays verbatim.

The body is kept as written (Markdown syntax included) so quotes match the file. Front matter
that is not valid YAML does not stop the document: it is left out of the text, ignored as
metadata, and the reason is kept in `meta["front_matter_error"]`.

`key_sources` may list plain citations or objects {citation, doi, url}; both become
`meta["key_sources"]`, a list of {citation, doi?, url?} (see `rag.types.KeySource`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from rag.config import Settings
from rag.ingest.loaders.base import (
    build_document,
    normalise_newlines,
    one_line,
    read_bytes,
    sections_from_starts,
)
from rag.ingest.loaders.text import decode
from rag.types import KeySource, SourceDocument

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t#]*$")
_SETEXT_H1 = re.compile(r"^ {0,3}=+[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_YEAR = re.compile(r"\b(1[89]\d\d|2\d\d\d)\b")
_INLINE_MARKUP = re.compile(r"[*_`]+|\{#[^}]*\}")
# A DOI is "10.<registrant>/<suffix>" (DOI Handbook 2.2); readers often paste it as a link or "doi:".
DOI = re.compile(r"10\.\d{4,9}/\S+")
_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)
DOI_RESOLVER = "https://doi.org/"
# Only web links are kept as links: a `javascript:` or `file:` URL in a shared document must
# never become something a reader can click.
_WEB_URL = re.compile(r"^https?://[^\s<>\"]+$", re.IGNORECASE)
MAX_CITATION_CHARS = 600  # a long reference with its full title and all authors fits


def load(path: Path, settings: Settings) -> SourceDocument:
    """Read a Markdown file with optional YAML front matter."""
    raw = read_bytes(path)
    text, _ = decode(raw)
    text = normalise_newlines(text)
    meta: dict[str, Any] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            front = yaml.safe_load(match.group(1) or "") or {}
            if not isinstance(front, dict):
                raise ValueError("front matter is not a mapping")
            meta = front_matter_meta(front)
        except (yaml.YAMLError, ValueError) as exc:
            meta = {"front_matter_error": one_line(exc, 160)}
        text = text[match.end() :].lstrip("\n")
    sections = sections_from_starts(_heading_starts(text), len(text))
    return build_document(
        path=path,
        raw=raw,
        fmt="markdown",
        text=text,
        title=meta.pop("title", None),
        sections=sections,
        meta=meta,
    )


def front_matter_meta(front: dict[str, Any]) -> dict[str, Any]:
    """Our metadata fields from a front matter mapping (common synonyms accepted)."""

    def first(*keys: str) -> Any:
        return next((front[k] for k in keys if front.get(k) not in (None, "", [])), None)

    meta: dict[str, Any] = {}
    if (title := first("title")) is not None:
        meta["title"] = one_line(title, 300)
    meta["authors"] = _names(first("authors", "author"))
    meta["topics"] = _strings(first("topics", "categories", "tags"))
    year = first("year")
    if year is None and (date := first("date", "published")) is not None:
        found = _YEAR.search(str(date))
        year = found.group(1) if found else None
    if year is not None and str(year).strip().isdigit():
        meta["year"] = int(str(year).strip())
    for key, synonyms in {
        "url": ("url", "link", "source_url"),
        "licence": ("licence", "license"),
        "summary": ("summary", "description", "abstract"),
    }.items():
        if (value := first(*synonyms)) is not None:
            meta[key] = one_line(value, 2000)
    if sources := key_sources(front.get("key_sources")):
        meta["key_sources"] = [source.to_meta() for source in sources]
    return meta


def key_sources(value: Any) -> list[KeySource]:
    """Front matter `key_sources`: plain citations or {citation, doi, url} objects.

    A DOI is stored bare (a pasted resolver link or "doi:" prefix removed) and, when no URL is
    given, becomes the link `https://doi.org/<doi>`. A URL that is not http(s) is not kept.
    """
    if value is None:
        return []
    entries = value if isinstance(value, list | tuple) else [value]
    out: list[KeySource] = []
    for entry in entries:
        if isinstance(entry, dict):
            citation = entry.get("citation") or entry.get("reference") or entry.get("title")
            doi = _doi(entry.get("doi"))
            url = _url(entry.get("url") or entry.get("link"))
        else:
            citation, doi, url = entry, None, None
        if citation is None or not str(citation).strip():
            continue
        if url is None and doi is not None and DOI.fullmatch(doi):
            url = DOI_RESOLVER + doi
        out.append(KeySource(one_line(citation, MAX_CITATION_CHARS), doi, url))
    return out


def _doi(value: Any) -> str | None:
    text = _DOI_PREFIX.sub("", str(value or "").strip())
    return text or None


def _url(value: Any) -> str | None:
    text = str(value or "").strip()
    return text if _WEB_URL.match(text) else None


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list | tuple):
        return [one_line(v, 200) for v in value if v is not None and str(v).strip()]
    return [one_line(value, 200)]


def _names(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [one_line(v.get("name", v) if isinstance(v, dict) else v, 200) for v in value if v]
    if isinstance(value, dict):
        return [one_line(value.get("name", ""), 200)] if value.get("name") else []
    if isinstance(value, str):
        # Commas are not separators here: "Mainey, C." is one author.
        return [part.strip() for part in value.split(";") if part.strip()]
    return _strings(value)


def _heading_starts(text: str) -> list[tuple[str, int]]:
    """(heading path, start offset) of ATX and `===` headings outside fenced code blocks."""
    starts: list[tuple[str, int]] = []
    stack: list[tuple[int, str]] = []
    fence: str | None = None
    offset = 0
    previous: tuple[str, int] | None = None  # the last non-blank paragraph line, for setext headings
    for line in text.split("\n"):
        heading: tuple[int, str, int] | None = None
        fence_match = _FENCE.match(line)
        if fence is not None:
            if (
                fence_match
                and fence_match.group(1)[0] == fence[0]
                and len(fence_match.group(1)) >= len(fence)
            ):
                fence = None
        elif fence_match:
            fence = fence_match.group(1)
        elif match := _ATX.match(line):
            heading = (len(match.group(1)), match.group(2), offset)
        elif _SETEXT_H1.match(line) and previous is not None:
            heading = (1, previous[0], previous[1])
        if heading is not None:
            level, title, start = heading
            title = one_line(_INLINE_MARKUP.sub("", title), 300)
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title))
            starts.append((" > ".join(t for _, t in stack), start))
        previous = (line, offset) if line.strip() and fence is None and heading is None else None
        offset += len(line) + 1
    return starts
