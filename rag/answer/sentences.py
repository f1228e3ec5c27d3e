"""Sentence splitting with character offsets, aware of Markdown blocks and wrapped PDF lines.

Offsets always point into the text given, so `text[s.start:s.end] == s.text` and a
sentence of a chunk maps to the document with `chunk.start + s.start`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["prose", "bullet", "list", "heading", "table", "rule", "code", "quote", "reference"]

# A line that opens a new Markdown block; any other line continues the one before
# (PDF and plain text wrap sentences over several lines).
_HEADING = re.compile(r"#{1,6}\s")
_BULLET = re.compile(r"(?:[-*+\u2022\u25aa\u2013]|\d{1,3}[.)])\s+")
_TABLE = re.compile(r"\|")
_RULE = re.compile(r"(?:[-*_=]\s*){3,}$")
_FENCE = re.compile(r"(?:```|~~~)")
_QUOTE = re.compile(r">\s?")
# Headings whose sections list references, not findings.
_REFERENCE_HEADING = re.compile(
    r"#+\s*(?:key |selected )?(?:sources|references|bibliography|further reading|notes)\b", re.IGNORECASE
)

# A sentence ends at . ! ? (plus closing quotes or brackets) followed by space and an opener.
_BOUNDARY = re.compile(r"[.!?][\"'\u2019\u201d)\]]*\s+(?=[\"'\u2018\u201c(\[]?[A-Z0-9])")

# Words whose trailing full stop does not end a sentence (compared lower-case, without the dot).
_ABBREVIATIONS = frozenset(
    re.findall(
        r"\S+",
        "al e.g i.e eg ie etc cf vs dr mr mrs ms prof st fig figs no nos vol vols pp p ed eds approx "
        "jan feb mar apr jun jul aug sep sept oct nov dec inc ltd co dept univ ref refs ch sec para",
    )
)

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\u2019-]*")


@dataclass(frozen=True)
class Sentence:
    """One sentence (or heading, table row, list item) and its [start, end) span in the text split."""

    start: int
    end: int
    text: str
    kind: Kind

    @property
    def n_words(self) -> int:
        return count_words(self.text)


def count_words(text: str) -> int:
    """Words as a reader counts them (runs of letters and digits)."""
    return len(_WORD.findall(text))


_CONTINUABLE = ("prose", "bullet", "quote", "reference")


def _blocks(text: str) -> list[tuple[int, int, Kind]]:
    """Spans of Markdown blocks (heading, list item, table row, paragraph...) with their kind."""
    blocks: list[tuple[int, int, Kind]] = []
    in_code = in_references = False
    pos = 0
    for line in text.splitlines(keepends=True):
        line_start, pos = pos, pos + len(line)
        stripped = line.strip()
        offset = line_start + (len(line) - len(line.lstrip()))
        if _FENCE.match(stripped):
            in_code = not in_code
            blocks.append((offset, line_start + len(line.rstrip()), "code"))
            continue
        if not stripped:
            blocks.append((line_start, line_start, "rule"))  # a blank line closes the block
            continue
        end = line_start + len(line.rstrip())
        kind: Kind | None
        if in_code:
            kind = "code"
        elif _HEADING.match(stripped):
            kind = "heading"
            in_references = bool(_REFERENCE_HEADING.match(stripped))
        elif _RULE.match(stripped):
            kind = "rule"
        elif _TABLE.match(stripped):
            kind = "table"
        elif _BULLET.match(stripped):
            kind = "bullet"
        elif _QUOTE.match(stripped):
            kind = "quote"
        else:
            kind = None  # plain text: continues the open prose, bullet or quote block
        if kind is None:
            if blocks and blocks[-1][2] in _CONTINUABLE and blocks[-1][1] > blocks[-1][0]:
                blocks[-1] = (blocks[-1][0], end, blocks[-1][2])
                continue
            kind = "prose"
        if in_references and kind in ("prose", "bullet"):
            kind = "reference"
        blocks.append((offset, end, kind))
    return [b for b in blocks if b[1] > b[0]]


def _content_start(text: str, start: int, kind: Kind) -> int:
    """Skip a list marker or quote sign so the quoted sentence starts at its first word."""
    pattern = _BULLET if kind == "bullet" else _QUOTE if kind == "quote" else None
    if pattern is None:
        return start
    match = pattern.match(text, start)
    return match.end() if match else start


def _is_abbreviation(text: str, dot: int) -> bool:
    """Whether the full stop at `dot` closes an abbreviation or an initial, not a sentence."""
    if text[dot] != ".":
        return False
    word_start = dot
    while word_start > 0 and (text[word_start - 1].isalnum() or text[word_start - 1] == "."):
        word_start -= 1
    word = text[word_start:dot]
    if not word:
        return False
    if len(word) == 1 and word.isupper():  # an initial, as in "Provost L. and"
        return True
    return word.lower() in _ABBREVIATIONS or ("." in word and len(word) <= 5)  # "U.K", "e.g"


def _split_prose(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    cursor = start
    for match in _BOUNDARY.finditer(text, start, end):
        if _is_abbreviation(text, match.start()):
            continue
        stop = match.start() + len(match.group().rstrip())
        spans.append((cursor, stop))
        cursor = match.end()
    spans.append((cursor, end))
    return spans


def split_sentences(text: str) -> list[Sentence]:
    """Split `text` into sentences, headings, list items and table rows, each with its offsets."""
    sentences: list[Sentence] = []
    for block_start, block_end, kind in _blocks(text):
        if kind in ("prose", "bullet", "quote"):
            content = _content_start(text, block_start, kind)
            spans = _split_prose(text, content, block_end)
        else:
            spans = [(block_start, block_end)]
        for s, e in spans:
            piece = text[s:e]
            s += len(piece) - len(piece.lstrip())
            e -= len(piece) - len(piece.rstrip())
            if e > s:
                sentences.append(Sentence(s, e, text[s:e], kind))
    return _merge_fragment_lists(text, sentences)


def _is_fragment(sentence: Sentence) -> bool:
    return not (_STARTS_LIKE_SENTENCE.match(sentence.text) and _ENDS_LIKE_SENTENCE.search(sentence.text))


def _merge_fragment_lists(text: str, sentences: list[Sentence]) -> list[Sentence]:
    """Join a run of list items that are not sentences ("1. establishing a sense of urgency;"),
    with the lead-in that introduces them ("the eight stages are:"), into one quotable "list"."""
    merged: list[Sentence] = []
    i = 0
    while i < len(sentences):
        j = i
        while j < len(sentences) and sentences[j].kind == "bullet" and _is_fragment(sentences[j]):
            j += 1
        if j - i < 2:
            merged.append(sentences[i])
            i += 1
            continue
        start = sentences[i].start
        if merged and merged[-1].kind == "prose" and merged[-1].text.endswith(":"):
            start = merged.pop().start
        end = sentences[j - 1].end
        merged.append(Sentence(start, end, text[start:end], "list"))
        i = j
    return merged


# Reference-list entries: "Surname AB, Surname CD. 2009." or "Journal 24(8):1185-1202" or a DOI/URL.
_REFERENCE = re.compile(r"\b\d+\s*\(\d+\)\s*:\s*\d+|\bdoi:|https?://|www\.", re.IGNORECASE)
_REFERENCE_SURNAMES = re.compile(r"^[A-Z][\w'\u2019-]+ [A-Z]{1,3}[,.]")
_ENDS_LIKE_SENTENCE = re.compile(r"[.!?][\"'\u2019\u201d)\]*_]*$")
_STARTS_LIKE_SENTENCE = re.compile(r"[\"'\u2018\u201c(\[*_]*[A-Z0-9]")
MIN_QUOTABLE_WORDS = 5  # shorter fragments rarely say anything on their own
MAX_QUOTABLE_WORDS = 70  # longer "sentences" are usually run-together PDF text or tables
MAX_LIST_WORDS = 100  # a list of fragments (with its lead-in) quoted whole


# A table row as ingestion writes it (rag/ingest/tables.py): "Column: value; Column: value."
_NAMED_ROW = re.compile(r"[^;:\n]{1,160}: [^;\n]+(?:; [^;:\n]{1,160}: [^;\n]+)+\.")
MAX_ROW_WORDS = 220  # a wide table's row (the FBI NICS table: 25 columns) quoted whole


def is_table_row(sentence: Sentence) -> bool:
    """A row that names its columns reads on its own ("State: Alabama; Handgun: 23,022.")."""
    return bool(_NAMED_ROW.fullmatch(sentence.text)) and sentence.n_words <= MAX_ROW_WORDS


def is_quotable(sentence: Sentence) -> bool:
    """Whether a sentence is worth quoting: prose (not a heading, reference or fragment), a list,
    or a table row that names its columns."""
    if sentence.kind == "list":  # items are fragments by nature; only the length matters
        return MIN_QUOTABLE_WORDS <= sentence.n_words <= MAX_LIST_WORDS
    if sentence.kind == "prose" and is_table_row(sentence):
        return True
    if sentence.kind not in ("prose", "bullet", "quote"):
        return False
    n_words = sentence.n_words
    if not MIN_QUOTABLE_WORDS <= n_words <= MAX_QUOTABLE_WORDS:
        return False
    text = sentence.text
    if not (_STARTS_LIKE_SENTENCE.match(text) and _ENDS_LIKE_SENTENCE.search(text)):
        return False  # list fragments, headings and PDF captions are not whole sentences
    if _REFERENCE_SURNAMES.match(text) or _REFERENCE.search(text):
        return False
    letters = sum(ch.isalpha() for ch in text)
    return letters >= 0.6 * len(text)  # mostly numbers or symbols: a table or a formula


# Openers that point back at an earlier sentence ("This supports...", "However, ..."): quoted
# alone they leave the reader asking what "this" is, so the answerer quotes the sentence before.
_DANGLING_OPENER = re.compile(
    r"[\"'\u2018\u201c(*_]*(?:this|these|those|that|they|them|their|theirs|it|its|such|he|she|his|her|"
    r"however|but|yet|still|also|thus|hence|therefore|consequently|as a result|in contrast|by contrast|"
    r"conversely|instead|similarly|likewise|moreover|furthermore|in addition|in turn|nevertheless|"
    r"nonetheless|even so|otherwise|despite this|for this reason|on the other hand|the latter|the former|"
    r"both|neither)\b(?!-)",
    re.IGNORECASE,
)


def is_dangling(text: str) -> bool:
    """Whether a sentence opens with a word that refers back to an earlier one ("This", "However")."""
    return bool(_DANGLING_OPENER.match(text.lstrip()))
