"""The library's view models: table rows, filter choices, search filters and the ingest summary."""

from __future__ import annotations

from rag.app import library
from rag.index.store import DocumentRecord
from rag.ingest.pipeline import IngestReport
from rag.types import Filters


def _record(doc_id: str, title: str, fmt: str = "markdown", **meta) -> DocumentRecord:
    return DocumentRecord(
        doc_id=doc_id,
        title=title,
        source=f"/lib/{doc_id}.{fmt[:3]}",
        format=fmt,
        page_count=None,
        size_bytes=10,
        ingested_at="2026-11-27T05:00:00+00:00",
        n_chunks=3,
        meta=meta,
    )


RECORDS = [
    _record("pdsa", "The model for improvement", topics=["improvement-methods"], year=2009),
    _record("spc", "Statistical process control", "pdf", topics=["measurement"], year="2019-05-01"),
    _record("note", "", "text"),
]


def test_facets_and_rows():
    facets = library.facets(RECORDS)
    assert list(facets.titles.values()) == [
        "note.tex",
        "Statistical process control",
        "The model for improvement",
    ]
    assert facets.topics == ["improvement-methods", "measurement"] and facets.years == (2009, 2019)
    rows = library.document_rows(RECORDS)
    assert rows[1]["Format"] == "PDF" and rows[1]["Year"] == "2019" and rows[1]["Pages"] == "–", rows[1]
    assert rows[0]["Added"] == "2026-11-27 05:00" and rows[2]["Title"] == "note.tex", rows
    assert "Year" not in library.document_rows(RECORDS[2:])[0], "no Year column when no document has a year"
    assert "Shared" not in rows[0], "no Shared column when no document repeats another"


def test_rows_show_how_much_of_a_document_repeats_others():
    from rag.index.duplicates import SharedShare

    shares = {"pdsa": SharedShare(chunks=1, total=3, documents=("spc", "note"))}
    rows = library.document_rows(RECORDS, shares)
    assert [r["Shared"] for r in rows] == ["33% shared with 2 documents", "–", "–"], rows
    assert library.FORMAT_LABELS["pptx"] == "PowerPoint" and library.FORMAT_LABELS["xlsx"] == "Excel"


def test_filter_records():
    assert [r.doc_id for r in library.filter_records(RECORDS, "PROCESS")] == ["spc"]
    assert [r.doc_id for r in library.filter_records(RECORDS, "note")] == ["note"], "file names match too"
    assert [r.doc_id for r in library.filter_records(RECORDS, formats=["pdf", "text"])] == ["spc", "note"]
    assert [r.doc_id for r in library.filter_records(RECORDS, topics=["measurement"])] == ["spc"]


def test_a_full_year_range_is_no_filter():
    assert library.search_filters(years=(2009, 2019), all_years=(2009, 2019)).is_empty(), (
        "documents without a year must stay searchable until someone narrows the range"
    )
    assert library.search_filters(["pdsa"], ["measurement"], (2010, 2019), (2009, 2019)) == Filters(
        doc_ids=frozenset({"pdsa"}), topics=frozenset({"measurement"}), year_min=2010, year_max=2019
    )


def test_ingest_summary_lists_outcomes_and_reasons():
    report = IngestReport(
        added=[("/up/a.md", "1", "Alpha")],
        unchanged=[("/up/b.md", "2", "")],
        failed=[("/up/c.pdf", "encrypted PDF: remove the password and upload it again")],
        seconds=1.25,
    )
    summary = library.ingest_summary(
        report, rejected=[("big.pdf", "the file is 200.0 MB; the limit is 100 MB")]
    )
    assert summary.headline == "1 added, 1 already in the library, 2 could not be added (1.2 s)", (
        summary.headline
    )
    assert summary.added == ["Alpha"] and summary.unchanged == ["b.md"] and not summary.ok
    assert summary.failed == [
        ("big.pdf", "the file is 200.0 MB; the limit is 100 MB"),
        ("c.pdf", "encrypted PDF: remove the password and upload it again"),
    ]
    assert library.ingest_summary(None).headline == "Nothing to add."
