"""The starter library's evidence trail: every key source linked, every claim checked and recorded."""

from __future__ import annotations

import re

import pytest
import yaml

from scripts import corpus_catalogue as catalogue
from scripts import verification_report as report
from scripts.extract_claims import claims_of

BRIEFS = catalogue.briefs()
RECORDS = report.records()
DOI = re.compile(r"^10\.\d{4,9}/\S+$")
WEB_URL = re.compile(r"^https?://\S+$")


@pytest.mark.parametrize("brief", BRIEFS, ids=lambda b: b.path.name)
def test_every_key_source_has_a_doi_or_url(brief):
    for ref in brief.front_matter["key_sources"]:
        assert isinstance(ref, dict) and isinstance(ref.get("citation"), str), (
            f"{brief.path.name}: a key source is {{citation, doi or url}}, got {ref!r}"
        )
        doi, url = ref.get("doi"), ref.get("url")
        assert (isinstance(doi, str) and DOI.match(doi)) or (isinstance(url, str) and WEB_URL.match(url)), (
            f"{brief.path.name}: {ref['citation'][:70]!r} needs a bare DOI (10.xxxx/...) or an http(s) URL"
        )


@pytest.mark.parametrize("brief", BRIEFS, ids=lambda b: b.path.name)
def test_every_brief_has_a_finished_verification_record(brief):
    record = RECORDS.get(brief.path.name)
    assert record is not None, (
        f"{brief.path.name} has no verification record: write corpus/verification/{brief.path.stem}.yml "
        "(skeleton: scripts/extract_claims.py --skeleton corpus/verification)"
    )
    found = report.problems(record, brief)
    assert not found, f"{brief.path.name}: {len(found)} problems in its record:\n" + "\n".join(found[:15])


def test_every_record_belongs_to_a_brief():
    names = {b.path.name for b in BRIEFS}
    orphans = sorted(set(RECORDS) - names)
    assert not orphans, f"verification records for briefs that do not exist: {orphans}"


def test_verification_report_is_in_sync():
    current = report.REPORT.read_text(encoding="utf-8") if report.REPORT.exists() else ""
    assert current == report.render_report(BRIEFS, RECORDS), (
        "corpus/VERIFICATION.md is out of date: run `.venv/bin/python scripts/verification_report.py`"
    )


def test_the_record_check_finds_each_kind_of_problem(tmp_path):
    """An unfinished record is caught: open verdicts, missing sources, long quotes, uncovered claims."""
    brief = BRIEFS[0]
    claims = claims_of(brief)
    entries = [
        {"id": "x:1", "claim": claims[0].text, "verdict": "unchecked"},
        {
            "id": "x:2",
            "claim": "An old sentence.",
            "verdict": "contradicted",
            "source": "https://example.org",
        },
        {"id": "x:3", "claim": claims[1].text, "verdict": "confirmed", "source": None},
        {"id": "x:4", "claim": claims[2].text, "verdict": "unverifiable", "quote": " ".join(["word"] * 26)},
        {"id": "x:5", "claim": "Was this.", "verdict": "corrected", "source": "https://example.org"},
    ]
    path = tmp_path / f"{brief.path.stem}.yml"
    path.write_text(yaml.safe_dump({"brief": brief.path.name, "claims": entries}), encoding="utf-8")
    found = "\n".join(report.problems(report.read_record(path), brief))
    for expected in (
        "no top-level 'checked' date",
        "x:1: verdict 'unchecked'",
        "x:2: verdict 'contradicted'",
        "x:3: a confirmed claim needs the URL",
        "x:4: the quote runs over 25 words",
        "x:4: a unverifiable claim needs a note",
        "x:5: a corrected claim needs 'now'",
    ):
        assert expected in found, f"expected {expected!r} among the problems:\n{found}"
    uncovered = [line for line in found.splitlines() if "claim not in the record" in line]
    assert any(claims[3].text[:40] in line for line in uncovered), f"claim 4 is not in the record:\n{found}"
    assert not any(claims[0].text[:40] in line for line in uncovered), "claim 1 is in the record"


def test_a_corrected_claim_is_covered_by_its_new_text(tmp_path):
    brief = BRIEFS[0]
    claims = claims_of(brief)
    entries = [
        {"claim": c.text, "verdict": "confirmed", "source": "https://example.org/s", "quote": "q"}
        for c in claims[1:]
    ]
    entries.append(
        {
            "claim": "The old wording.",
            "verdict": "corrected",
            "now": claims[0].text,
            "note": "n",
            "source": "https://e.org",
        }
    )
    entries.append({"claim": "A dropped sentence.", "verdict": "removed", "note": "no source"})
    path = tmp_path / f"{brief.path.stem}.yml"
    path.write_text(
        yaml.safe_dump({"brief": brief.path.name, "checked": "2026-12-02", "claims": entries}),
        encoding="utf-8",
    )
    assert report.problems(report.read_record(path), brief) == []
    text = report.render_report([brief], {brief.path.name: report.read_record(path)})
    assert (
        "1 of 1 briefs have a record" in text and "Now: " + " ".join(claims[0].text.split())[:30] in text
    ), text
    assert "A dropped sentence." in text, "removed claims are listed among the changes of substance"
