"""The starter library: every brief well-formed, every topic covered, the catalogue in sync."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict

import pytest

from scripts import corpus_catalogue as catalogue

REQUIRED = ("title", "topics", "summary", "key_sources", "audience", "licence", "last_reviewed")
MIN_WORDS, MAX_WORDS = 600, 1500
MIN_BRIEFS = 45

BRIEFS = catalogue.briefs()
TOPICS = catalogue.topic_names()


def test_library_is_large_enough():
    assert len(BRIEFS) >= MIN_BRIEFS, (
        f"the starter library needs at least {MIN_BRIEFS} briefs, has {len(BRIEFS)}"
    )


@pytest.mark.parametrize("brief", BRIEFS, ids=lambda b: b.path.name)
def test_brief_front_matter(brief):
    fm = brief.front_matter
    missing = [f for f in REQUIRED if not fm.get(f)]
    assert not missing, f"{brief.path.name} lacks {missing}"
    assert isinstance(fm["title"], str) and fm["title"].strip(), f"{brief.path.name}: title must be text"
    assert isinstance(fm["topics"], list) and 1 <= len(fm["topics"]) <= 3, f"{brief.path.name}: 1-3 topics"
    unknown = set(fm["topics"]) - set(TOPICS)
    assert not unknown, f"{brief.path.name}: topics {unknown} are not in corpus/topics.yml"
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", fm["summary"].strip()) if s]
    assert 1 <= len(sentences) <= 4, f"{brief.path.name}: the summary should be 2-3 sentences"
    sources = fm["key_sources"]
    assert isinstance(sources, list) and len(sources) >= 2, f"{brief.path.name}: at least 2 key sources"
    for ref in sources:
        # A key source is {citation, doi or url} (tests/corpus/test_verification.py checks the link).
        citation = ref.get("citation") if isinstance(ref, dict) else ref
        assert isinstance(citation, str) and re.search(r"\b(19|20)\d{2}\b", citation), (
            f"{brief.path.name}: key source without a year: {ref!r}"
        )
    assert fm["licence"] == "CC BY 4.0", f"{brief.path.name}: the team's text is CC BY 4.0"
    reviewed = fm["last_reviewed"]
    if isinstance(reviewed, str):
        reviewed = dt.date.fromisoformat(reviewed)
    assert isinstance(reviewed, dt.date), f"{brief.path.name}: last_reviewed must be a date"


@pytest.mark.parametrize("brief", BRIEFS, ids=lambda b: b.path.name)
def test_brief_length_and_sections(brief):
    assert MIN_WORDS <= brief.words <= MAX_WORDS, (
        f"{brief.path.name} has {brief.words} words; briefs run {MIN_WORDS}-{MAX_WORDS}"
    )
    headings = re.findall(r"^## (.+)$", brief.body, flags=re.M)
    for needed in (
        "What it is",
        "What the evidence shows",
        "How to apply it",
        "Common pitfalls",
        "Key sources",
    ):
        assert any(h.strip().lower().startswith(needed.lower()) for h in headings), (
            f"{brief.path.name} lacks a '## {needed}' section"
        )


def test_every_topic_has_a_brief():
    covered = {t for b in BRIEFS for t in b.front_matter.get("topics", [])}
    empty = sorted(set(TOPICS) - covered)
    assert not empty, f"topics with no brief: {empty}"


def _paragraphs(body: str) -> list[str]:
    paras = []
    for block in re.split(r"\n\s*\n", body):
        text = " ".join(block.split())
        # Headings and the key-source list legitimately recur; prose paragraphs must not.
        if len(text.split()) >= 12 and not text.startswith(("#", "- ", "* ")):
            paras.append(text.lower())
    return paras


def test_no_two_briefs_share_a_paragraph():
    seen = defaultdict(list)
    for brief in BRIEFS:
        for para in set(_paragraphs(brief.body)):
            seen[para].append(brief.path.name)
    shared = {p[:80]: names for p, names in seen.items() if len(names) > 1}
    assert not shared, f"paragraphs repeated across briefs: {shared}"


def test_catalogue_is_in_sync():
    current = catalogue.README.read_text(encoding="utf-8") if catalogue.README.exists() else ""
    assert current == catalogue.render_catalogue(BRIEFS), (
        "corpus/README.md is out of date: run `.venv/bin/python scripts/corpus_catalogue.py`"
    )
