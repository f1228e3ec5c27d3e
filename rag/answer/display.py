"""Display text: an excerpt as a reader should see it, with a map back to the stored text.

Stored text stays verbatim (every citation offset points into it), but Markdown syntax inside a
quote reads as noise: `\\(`, `**bold**`, `[link](url)`, `## Heading`, `| a | b |`. `display_text`
strips that syntax and records, for every character it shows, the offset of the stored character
it came from, so a shown span maps back to the exact stored span (and a stored span, such as the
cited sentence, to the shown characters to highlight). The result is plain text: callers still
escape it for Markdown or HTML.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# Escapable characters in CommonMark: any ASCII punctuation.
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
# While the other rules run, an escaped character stands in as a private-use character so that
# `\*` is never read as emphasis; it is put back at the end.
_PRIVATE = 0xE000

_TABLE_RULE = re.compile(
    r"^[ \t]*\|?[ \t]*:?-{2,}:?[ \t]*(?:\|[ \t]*:?-{2,}:?[ \t]*)*\|?[ \t]*(?:\n|$)", re.M
)
_HEADING = re.compile(r"^([ \t]{0,3})(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$", re.M)
_QUOTE = re.compile(r"^([ \t]{0,3})>[ \t]?", re.M)
_TABLE_EDGE = re.compile(r"^([ \t]*)\|[ \t]*|[ \t]*\|[ \t]*$", re.M)
_TABLE_INNER = re.compile(r"[ \t]*\|[ \t]*")
_IMAGE = re.compile(r"!\[([^\]\n]*)\]\([^)\n]*\)")
_LINK = re.compile(r"\[([^\]\n]+)\]\((?:[^()\s]|\([^)\s]*\))*(?:[ \t]+\"[^\"\n]*\")?\)")
_REF_LINK = re.compile(r"\[([^\]\n]+)\]\[[^\]\n]*\]")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_CODE = re.compile(r"(`+)([^`\n]+?)\1")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EM_STAR = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
_EM_UNDERSCORE = re.compile(r"(?<![\w_])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![\w_])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
# Emphasis cut in half by an excerpt's edge leaves a lone `**`: dropped when it touches a word.
_STRAY_STRONG = re.compile(r"(?:\*\*|__)(?=\w)|(?<=[\w.,;:!?)])(?:\*\*|__)")
TABLE_CELL_SEPARATOR = " · "  # shown between the cells of a Markdown table row


@dataclass(frozen=True)
class Display:
    """Shown text and, per shown character, the offset of the stored character it came from.

    Offsets never decrease. A character the cleaning added (a table's cell separator) maps to
    the stored character it replaced.
    """

    text: str
    offsets: tuple[int, ...]
    stored_end: int  # offset just past the stored text this was made from

    def to_stored(self, start: int, end: int) -> tuple[int, int]:
        """The stored [start, end) behind the shown characters [start, end)."""
        if start >= end:
            at = self.offsets[start] if start < len(self.offsets) else self.stored_end
            return at, at
        return self.offsets[start], self.offsets[end - 1] + 1

    def to_shown(self, start: int, end: int) -> tuple[int, int]:
        """The shown characters [a, b) that come from the stored [start, end)."""
        a = bisect.bisect_left(self.offsets, start)
        b = bisect.bisect_left(self.offsets, end)
        return a, max(a, b)

    def split(self, *stored_cuts: int) -> list[str]:
        """The shown text cut where stored offsets `stored_cuts` (ascending) fall: len(cuts) + 1 pieces."""
        positions = [0, *(bisect.bisect_left(self.offsets, cut) for cut in stored_cuts), len(self.text)]
        return [self.text[a:b] for a, b in zip(positions, positions[1:], strict=False)]


# A rewrite takes a match and returns the pieces to show: ints are group numbers (shown with
# their offsets), strings are literal text mapped to the match's first character, and
# (text, group) pairs are literal text mapped to that group's first character.
Rewrite = Callable[[re.Match[str]], Sequence[int | str | tuple[str, int]]]


def _apply(
    pattern: re.Pattern[str], text: str, offsets: list[int], rewrite: Rewrite
) -> tuple[str, list[int]]:
    out: list[str] = []
    out_offsets: list[int] = []
    cursor = 0
    for match in pattern.finditer(text):
        out.append(text[cursor : match.start()])
        out_offsets += offsets[cursor : match.start()]
        for piece in rewrite(match):
            if isinstance(piece, int):
                a, b = match.span(piece)
                if a >= 0:
                    out.append(text[a:b])
                    out_offsets += offsets[a:b]
            else:
                literal, anchor = (
                    (piece, match.start()) if isinstance(piece, str) else (piece[0], match.start(piece[1]))
                )
                if literal and offsets:
                    at = offsets[min(anchor, len(offsets) - 1)]
                    out.append(literal)
                    out_offsets += [at] * len(literal)
        cursor = match.end()
    out.append(text[cursor:])
    out_offsets += offsets[cursor:]
    return "".join(out), out_offsets


def _keep(*groups: int) -> Rewrite:
    return lambda match: groups


def display_text(text: str, base: int = 0) -> Display:
    """`text` without Markdown syntax; offsets are `base` + the index in `text` (pass a citation's start).

    Removed: backslash escapes (the escaped character stays), emphasis and strike-through markers,
    link and image syntax (their text stays), inline-code backticks, heading hashes, quote signs,
    table pipes and separator rows. Line breaks and spacing are kept.
    """
    if not text:
        return Display("", (), base)
    stored_end = base + len(text)
    offsets = list(range(base, stored_end))
    text, offsets = _apply(_ESCAPE, text, offsets, lambda m: ((chr(_PRIVATE + ord(m.group(1))), 1),))
    text, offsets = _apply(_TABLE_RULE, text, offsets, lambda m: ())
    text, offsets = _apply(_HEADING, text, offsets, _keep(1, 3))
    text, offsets = _apply(_QUOTE, text, offsets, _keep(1))
    if "|" in text:
        text, offsets = _tables(text, offsets)
    for pattern in (_IMAGE, _LINK, _REF_LINK, _AUTOLINK):
        text, offsets = _apply(pattern, text, offsets, _keep(1))
    text, offsets = _apply(_CODE, text, offsets, _keep(2))
    for _ in range(3):  # nested emphasis (***both***) unwraps one level per pass
        before = text
        text, offsets = _apply(_STRONG, text, offsets, _keep(2))
        text, offsets = _apply(_EM_STAR, text, offsets, _keep(1))
        text, offsets = _apply(_EM_UNDERSCORE, text, offsets, _keep(1))
        text, offsets = _apply(_STRIKE, text, offsets, _keep(1))
        if text == before:
            break
    text, offsets = _apply(_STRAY_STRONG, text, offsets, lambda m: ())
    shown = "".join(chr(ord(ch) - _PRIVATE) if _PRIVATE <= ord(ch) < _PRIVATE + 128 else ch for ch in text)
    return Display(shown, tuple(offsets), stored_end)


def _tables(text: str, offsets: list[int]) -> tuple[str, list[int]]:
    """Rows of a Markdown table (lines starting with a pipe) with their pipes removed."""
    lines_out: list[str] = []
    offsets_out: list[int] = []
    position = 0
    for line in text.splitlines(keepends=True):
        line_offsets = offsets[position : position + len(line)]
        position += len(line)
        if line.lstrip().startswith("|"):
            body = line.rstrip("\n")
            newline = line[len(body) :]
            body_offsets = line_offsets[: len(body)]
            body, body_offsets = _apply(_TABLE_EDGE, body, body_offsets, _keep(1))
            body, body_offsets = _apply(_TABLE_INNER, body, body_offsets, lambda m: (TABLE_CELL_SEPARATOR,))
            lines_out.append(body + newline)
            offsets_out += body_offsets + line_offsets[len(line) - len(newline) :]
        else:
            lines_out.append(line)
            offsets_out += line_offsets
    return "".join(lines_out), offsets_out


def clean(text: str) -> str:
    """Just the shown text of `display_text(text)` (for answer sentences, titles)."""
    return display_text(text).text
