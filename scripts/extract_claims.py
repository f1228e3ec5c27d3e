"""List the checkable claims of the starter briefs: the worklist of the verification pass.

A claim is a sentence of a brief's body that a reader could check against a source: it holds a
number or a year, cites an author and year ("Taylor and colleagues (2014)", "Bloom et al."),
quotes someone, reports a finding ("found", "showed", "reported", "estimated"...), or sits in
the "What the evidence shows" section. Each key source in the front matter is a claim too (that
the reference exists as cited).

Usage:
    .venv/bin/python scripts/extract_claims.py                    # counts per brief
    .venv/bin/python scripts/extract_claims.py --show lean-in-healthcare
    .venv/bin/python scripts/extract_claims.py --skeleton corpus/verification
        # writes <stem>.yml with every claim marked "unchecked" (existing files are left alone)

Claim ids are `<stem>:<n>` in reading order; they change when a brief's sentences change, so a
verification record quotes the claim text as well.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag.answer.sentences import split_sentences  # noqa: E402
from scripts.corpus_catalogue import CORPUS, Brief, briefs  # noqa: E402

_NUMBER = re.compile(
    r"\b\d[\d,.]*\b|\b(?:per cent|percent|%)|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|"
    r"twelve|twenty|thirty|forty|fifty|hundred|thousand|million|billion|half|third|quarter)\b",
    re.IGNORECASE,
)
# Every sentence of an evidence section reports what sources say, cue words or not
# ("The strongest differentiator was cultural readiness").
_EVIDENCE_SECTION = re.compile(r"evidence", re.IGNORECASE)
_AUTHOR_YEAR = re.compile(
    r"\b[A-Z][A-Za-z'\u2019-]+(?: and colleagues| et al\.?| and [A-Z][A-Za-z'\u2019-]+| & [A-Z][A-Za-z'\u2019-]+)?"
    r"\s*\(?(?:19|20)\d{2}\)?"
)
_QUOTATION = re.compile(r"[\"\u201c][^\"\u201d]{12,}[\"\u201d]")
_FINDING = re.compile(
    r"\b(?:found|finds|showed|shows|shown|reported|reports|estimated|estimates|concluded|concludes|"
    r"recommended|recommends|identified|demonstrated|observed|measured|calculated|revised|published|"
    r"introduced|launched|established|named|described)\b",
    re.IGNORECASE,
)
KINDS = ("number", "author-year", "quotation", "finding", "evidence", "reference")


@dataclass(frozen=True)
class Claim:
    """One checkable sentence of a brief (or one of its key sources)."""

    id: str
    section: str
    kinds: tuple[str, ...]
    text: str


def _kinds(sentence: str, section: str) -> tuple[str, ...]:
    found = []
    if _NUMBER.search(sentence):
        found.append("number")
    if _AUTHOR_YEAR.search(sentence):
        found.append("author-year")
    if _QUOTATION.search(sentence):
        found.append("quotation")
    if _FINDING.search(sentence):
        found.append("finding")
    if _EVIDENCE_SECTION.search(section):
        found.append("evidence")
    return tuple(found)


def _key_source_text(entry: object) -> str:
    if isinstance(entry, dict):
        return str(entry.get("citation", ""))
    return str(entry)


def claims_of(brief: Brief) -> list[Claim]:
    """The brief's checkable claims in reading order, key sources last."""
    stem = brief.path.stem
    out: list[Claim] = []
    section = ""
    for sentence in split_sentences(brief.body):
        text = " ".join(sentence.text.split())
        if sentence.kind == "heading":
            section = text.lstrip("#").strip()
            continue
        if section.lower() == "key sources":
            continue  # the references are listed from the front matter below
        kinds = _kinds(text, section)
        if kinds:
            out.append(Claim(f"{stem}:{len(out) + 1}", section, kinds, text))
    for entry in brief.front_matter.get("key_sources", []) or []:
        out.append(Claim(f"{stem}:{len(out) + 1}", "Key sources", ("reference",), _key_source_text(entry)))
    return out


def skeleton(brief: Brief, claims: list[Claim]) -> dict:
    """A verification record with every claim unchecked (the pass fills in the verdicts)."""
    return {
        "brief": brief.path.name,
        "checked": None,
        "claims": [
            {
                "id": c.id,
                "section": c.section,
                "kinds": list(c.kinds),
                "claim": c.text,
                "verdict": "unchecked",
                "source": None,
                "quote": None,
                "note": None,
            }
            for c in claims
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--show", metavar="STEM", help="print the claims of one brief")
    parser.add_argument("--skeleton", type=Path, metavar="DIR", help="write unchecked records into DIR")
    args = parser.parse_args(argv)
    items = briefs(args.corpus)
    if args.show:
        match = [b for b in items if b.path.stem == args.show]
        if not match:
            print(f"no brief {args.show!r} in {args.corpus}", file=sys.stderr)
            return 2
        for c in claims_of(match[0]):
            print(f"{c.id}\t[{', '.join(c.kinds)}]\t{c.section}\n    {c.text}")
        return 0
    total = 0
    for b in items:
        claims = claims_of(b)
        total += len(claims)
        if args.skeleton:
            args.skeleton.mkdir(parents=True, exist_ok=True)
            path = args.skeleton / f"{b.path.stem}.yml"
            if not path.exists():
                path.write_text(
                    yaml.safe_dump(skeleton(b, claims), sort_keys=False, allow_unicode=True, width=100),
                    encoding="utf-8",
                )
        if not args.show:
            print(f"{len(claims):4d}  {b.path.name}")
    print(f"{total:4d}  claims in {len(items)} briefs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
