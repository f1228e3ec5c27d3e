"""Write corpus/VERIFICATION.md: what the verification pass found, from the records in corpus/verification/.

Each brief has one record, `corpus/verification/<stem>.yml` (a skeleton comes from
`scripts/extract_claims.py --skeleton corpus/verification`): every checkable claim with a verdict,
the primary source it was checked against, a short quote from that source and a note. This
script totals the verdicts, tabulates them per brief and lists every change of substance (each
corrected or removed claim with its note and source).

Usage: .venv/bin/python scripts/verification_report.py [--check]
With --check it exits 1 if corpus/VERIFICATION.md is out of date (tests/corpus keeps it in sync).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.corpus_catalogue import CORPUS, Brief, briefs  # noqa: E402

RECORDS = CORPUS / "verification"
REPORT = CORPUS / "VERIFICATION.md"
# The verdicts a finished record may hold. "unchecked" is the skeleton's placeholder and
# "contradicted" is not a resting state: a wrong claim is fixed ("corrected") or taken out ("removed").
VERDICTS = ("confirmed", "corrected", "removed", "unverifiable", "advice")
OPEN_VERDICTS = ("unchecked", "contradicted")
NEEDS_SOURCE = ("confirmed", "corrected")
MAX_QUOTE_WORDS = 25  # a short quote to find the passage by, not a reproduction of the source


@dataclass(frozen=True)
class Record:
    """One brief's verification record."""

    path: Path
    brief: str
    checked: str
    claims: tuple[dict, ...]

    def count(self, verdict: str) -> int:
        return sum(1 for c in self.claims if c.get("verdict") == verdict)


def _date(value: object) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value or "")


def read_record(path: Path) -> Record:
    """Load one record.

    Raises:
        ValueError: the file is not a mapping with a `claims` list.
    """
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        raise ValueError(f"{path.name}: a verification record is a mapping with a 'claims' list")
    claims = tuple(c for c in data["claims"] if isinstance(c, dict))
    return Record(path, str(data.get("brief") or f"{path.stem}.md"), _date(data.get("checked")), claims)


def records(folder: Path = RECORDS) -> dict[str, Record]:
    """Every record in `folder`, by brief file name."""
    return {r.brief: r for r in (read_record(p) for p in sorted(folder.glob("*.yml")))}


def normalise(text: object) -> str:
    return " ".join(str(text or "").split())


def current_texts(claim: dict) -> set[str]:
    """The brief text a record entry accounts for: `now` for a corrected claim, else `claim`."""
    if claim.get("verdict") == "corrected" and claim.get("now"):
        return {normalise(claim["now"])}
    if claim.get("verdict") == "removed":
        return set()
    return {normalise(claim.get("claim"))}


def problems(record: Record, brief: Brief | None) -> list[str]:
    """Everything that keeps a record from being finished (empty when it is)."""
    from scripts.extract_claims import claims_of

    out = []
    if not record.checked or record.checked == "None":
        out.append("the record has no top-level 'checked' date")
    for c in record.claims:
        where = f"{record.brief} {c.get('id', '?')}"
        verdict = c.get("verdict")
        if verdict in OPEN_VERDICTS or verdict not in VERDICTS:
            out.append(f"{where}: verdict {verdict!r} (must be one of {', '.join(VERDICTS)})")
        if verdict in NEEDS_SOURCE and not str(c.get("source") or "").startswith(("http://", "https://")):
            out.append(f"{where}: a {verdict} claim needs the URL of the source it was checked against")
        if len(str(c.get("quote") or "").split()) > MAX_QUOTE_WORDS:
            out.append(f"{where}: the quote runs over {MAX_QUOTE_WORDS} words")
        if verdict == "corrected" and not c.get("now"):
            out.append(f"{where}: a corrected claim needs 'now', the sentence as the brief reads today")
        if verdict in ("corrected", "removed", "unverifiable") and not c.get("note"):
            out.append(f"{where}: a {verdict} claim needs a note saying what was wrong or what was searched")
    if brief is not None:
        covered = set().union(*(current_texts(c) for c in record.claims)) if record.claims else set()
        for claim in claims_of(brief):
            if normalise(claim.text) not in covered:
                out.append(f"{record.brief}: claim not in the record: {claim.text[:90]!r}")
    return out


def _cell(text: object) -> str:
    return normalise(text).replace("|", "\\|")


def render_report(items: list[Brief], found: dict[str, Record]) -> str:
    """The text of corpus/VERIFICATION.md."""
    done = [found[b.path.name] for b in items if b.path.name in found]
    missing = [b.path.name for b in items if b.path.name not in found]
    totals = {v: sum(r.count(v) for r in done) for v in VERDICTS}
    checked = sum(totals.values())
    lines = [
        "# Verification of the starter library",
        "",
        "Every checkable claim of each brief (numbers, years, author-year citations, quotations,",
        "reported findings, every sentence of the evidence section and each key source) was checked",
        "against a primary source. The record of each brief is in `verification/<brief>.yml`: the claim,",
        "its verdict, the source checked (URL), a short quote from it and the date.",
        "",
        "This file is generated by `scripts/verification_report.py`; a test keeps it in sync with the records.",
        "",
        "Verdicts: **confirmed** (the source says so), **corrected** (the brief was wrong and now says what",
        "the source says), **removed** (no source supports it; taken out of the brief), **unverifiable**",
        "(no copy of the source could be checked; the note says what was searched), **advice** (the",
        "team's own recommendation, not a claim about a source).",
        "",
        "## Totals",
        "",
        f"{len(done)} of {len(items)} briefs have a record; {checked:,} claims checked.",
        "",
        "| Confirmed | Corrected | Removed | Unverifiable | Advice | Claims checked |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        "| " + " | ".join(f"{totals[v]:,}" for v in VERDICTS) + f" | {checked:,} |",
        "",
        "## Per brief",
        "",
        "| Brief | Record | Checked | Claims | Confirmed | Corrected | Removed | Unverifiable | Advice |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in done:
        counts = " | ".join(str(r.count(v)) for v in VERDICTS)
        record = f"verification/{r.path.name}"
        lines.append(
            f"| [{r.brief}]({r.brief}) | [{r.path.name}]({record}) | {r.checked} | {len(r.claims)} | {counts} |"
        )
    if missing:
        lines += ["", "Briefs without a record yet: " + ", ".join(missing) + "."]
    lines += ["", "## Changes of substance", ""]
    changes = [(r, c) for r in done for c in r.claims if c.get("verdict") in ("corrected", "removed")]
    if not changes:
        lines.append("None.")
    for r, c in changes:
        lines.append(f"- **{r.brief}** ({c.get('verdict')}): {_cell(c.get('claim'))}")
        if c.get("verdict") == "corrected":
            lines.append(f"  - Now: {_cell(c.get('now'))}")
        lines.append(f"  - Why: {_cell(c.get('note'))}")
        if c.get("source"):
            lines.append(f"  - Source: {_cell(c.get('source'))}")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if corpus/VERIFICATION.md is out of date"
    )
    args = parser.parse_args(argv)
    text = render_report(briefs(), records())
    if args.check:
        current = REPORT.read_text(encoding="utf-8") if REPORT.exists() else ""
        if current != text:
            print(
                "corpus/VERIFICATION.md is out of date: run scripts/verification_report.py", file=sys.stderr
            )
            return 1
        return 0
    REPORT.write_text(text, encoding="utf-8")
    print(f"wrote {REPORT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
