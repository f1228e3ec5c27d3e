"""Sentence splitting: exact offsets, Markdown blocks, abbreviations, junk detection."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer.sentences import is_quotable, split_sentences

NOTE = Path(__file__).parent / "data" / "safety-huddles.md"


def test_offsets_point_at_the_sentence_text_in_real_briefs():
    corpus = Path(__file__).resolve().parents[2] / "corpus"
    for path in [corpus / "run-charts.md", corpus / "lean-in-healthcare.md", NOTE]:
        text = path.read_text(encoding="utf-8")
        sentences = split_sentences(text)
        assert len(sentences) > 20, f"{path.name}: too few sentences ({len(sentences)})"
        for s in sentences:
            assert text[s.start : s.end] == s.text, f"{path.name}: offsets {s.start}:{s.end} do not match"
            assert s.text == s.text.strip(), f"{path.name}: sentence not trimmed: {s.text!r}"
        starts = [s.start for s in sentences]
        assert starts == sorted(starts), f"{path.name}: sentences out of order"


def test_abbreviations_and_initials_do_not_end_a_sentence():
    text = (
        "Huddles are short, e.g. ten minutes. Dr. Helen Ward and J. R. Patel described them. "
        "Goldenhar et al. reported gains in awareness. The end."
    )
    got = [s.text for s in split_sentences(text)]
    assert got == [
        "Huddles are short, e.g. ten minutes.",
        "Dr. Helen Ward and J. R. Patel described them.",
        "Goldenhar et al. reported gains in awareness.",
        "The end.",
    ], got


def test_wrapped_lines_join_and_blank_lines_separate():
    text = "A sentence that wraps\nover two lines ends here.\n\nA new paragraph starts here"
    got = [(s.text, s.kind) for s in split_sentences(text)]
    assert got == [
        ("A sentence that wraps\nover two lines ends here.", "prose"),
        ("A new paragraph starts here", "prose"),
    ], got


def test_markdown_blocks_get_their_kind_and_bullets_lose_their_marker():
    text = "# Title\n\n- First item here.\n1. Second item here.\n\n| a | b |\n\n---\n\n> Quoted words here."
    got = [(s.text, s.kind) for s in split_sentences(text)]
    assert got == [
        ("# Title", "heading"),
        ("First item here.", "bullet"),
        ("Second item here.", "bullet"),
        ("| a | b |", "table"),
        ("---", "rule"),
        ("Quoted words here.", "quote"),
    ], got


def test_reference_sections_are_marked_as_references():
    text = NOTE.read_text(encoding="utf-8")
    refs = [s for s in split_sentences(text) if s.kind == "reference"]
    assert len(refs) == 2 and all("2013" in s.text or "2019" in s.text for s in refs), refs


@pytest.mark.parametrize(
    ("text", "quotable"),
    [
        ("Safety huddles reduce harm when the team reviews a simple count every day.", True),
        ("## What the evidence shows", False),
        ("| Patients at risk | Nurse in charge | 5 min |", False),
        ("safety first;", False),  # a lower-case list fragment
        ("Short one.", False),
        ("The limits are wide on the left and narrow as volume rises, which gives a funnel shape", False),
        ("Goldenhar LM, Brady PW, Sutcliffe KM. 2013. Huddling for high reliability.", False),
        ("Quality and Safety in Health Care 11(4):390-391 is where the paper appeared.", False),
        ("See https://example.org/guide for the full guide to huddles.", False),
    ],
)
def test_is_quotable(text, quotable):
    first = split_sentences(text)[0]
    assert is_quotable(first) is quotable, f"{first.text!r}: expected quotable={quotable}"


def test_table_rows_that_name_their_columns_are_quotable():

    row = (
        "State / Territory: Alabama; Permit: 18,870; Handgun: 23,022; Long Gun: 22,650; "
        "*Other: 859; **Multiple: 1,178; Admin: 0; Totals: 71,137."
    )
    sentences = split_sentences(row + "\n" + row.replace("Alabama", "Alaska"))
    assert [s.text for s in sentences] == [row, row.replace("Alabama", "Alaska")], "a row a sentence"
    assert all(is_quotable(s) for s in sentences), "mostly figures, yet it reads on its own"
    assert not is_quotable(split_sentences("18,870 23,022 22,650 859 1,178 0 71,137.")[0])
