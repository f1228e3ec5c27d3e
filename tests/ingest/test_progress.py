"""Progress events (files, chunks, rate, time left) and the per-file ingestion summary, on real files."""

from __future__ import annotations

import shutil
from pathlib import Path

from rag.app import library
from rag.cli.ingest import format_report, progress_text
from rag.config import IngestSettings
from rag.index.store import Index
from rag.ingest.details import FileDetails, format_duration
from rag.ingest.pipeline import IngestEvent, ingest_paths

DECK = "nhsbsa_coffee-and-coding_survival-analysis-in-R_2025-05.pptx"
TIDY_CSV = "NHSRdatasets_ons-weekly-mortality-2010-2020_tidy.csv"
FUNNEL = "nhsr-blog_introduction-to-funnel-plots.md"
ROW_LIMIT = 60  # a few chunks of the CSV: the test is about the summary, not the data


def test_events_count_chunks_and_bytes_and_the_summary_says_what_happened(
    settings, embedder, tmp_path, shared_docs
):
    folder = tmp_path / "batch"
    folder.mkdir()
    for name in (DECK, TIDY_CSV, FUNNEL):
        shutil.copy(shared_docs / name, folder / name)
    shutil.copy(shared_docs / FUNNEL, folder / "funnel-copy.md")
    settings = settings.model_copy(update={"ingest": IngestSettings(max_rows_per_sheet=ROW_LIMIT)})
    events: list[IngestEvent] = []
    with Index.open(settings) as index:
        report = ingest_paths([folder], index, embedder, settings, progress=events.append)
    assert report.ok and len(report.added) == 3 and len(report.unchanged) == 1, report
    sizes = sum(p.stat().st_size for p in folder.iterdir())
    assert {e.bytes_total for e in events} == {sizes}, "every file is to be parsed"
    done = [e.chunks_done for e in events]
    assert done == sorted(done) and done[-1] == report.n_chunks_added, "chunks counted once, in order"
    bytes_done = [e.bytes_done for e in events]
    assert bytes_done == sorted(bytes_done) and bytes_done[-1] == sizes
    assert events[0].seconds_left is None, "no estimate before the first file is done"
    later = [e for e in events if e.bytes_done and e.bytes_done < sizes]
    assert later and all(e.seconds_left is not None and e.seconds_left >= 0 for e in later)
    assert all(e.rate > 0 for e in events if e.chunks_done), "a rate once chunks are embedded"
    text = progress_text(events[-1])
    assert text.startswith("files 4/4 · ") and " chunks · " in text and "chunks/s" in text, text

    deck = report.details[str((folder / DECK).resolve())]
    assert deck.format == "pptx" and deck.pages == 12 and deck.tables == 3 and not deck.rows_left_out
    assert "3 tables read as rows" in deck.notes()
    csv = report.details[str((folder / TIDY_CSV).resolve())]
    assert csv.rows_left_out == 18_804 - ROW_LIMIT and csv.tables == 1, csv
    assert any(n.startswith(f"{18_804 - ROW_LIMIT:,} rows left out past the row limit") for n in csv.notes())
    summary = format_report(report)
    assert (
        "rows left out past the row limit" in summary and "CHANGEGUIDE_INGEST__MAX_ROWS_PER_SHEET" in summary
    )
    assert "3 tables read as rows" in summary
    assert report.notes[str((folder / FUNNEL).resolve())].startswith("duplicate of"), (
        "an exact copy is one document (found by its content hash, before any near-duplicate check)"
    )
    app = library.ingest_summary(report)
    assert any("rows left out" in " ".join(notes) for _, notes in app.details), app.details


def test_file_details_notes_name_ocr_tables_rows_and_shared_passages():
    details = FileDetails(
        source="/lib/report-2024.pdf",
        format="pdf",
        chunks=40,
        pages=12,
        tables=2,
        ocr_pages=3,
        shared_chunks=10,
        shared_with=("Annual report 2023", "Quality account 2023"),
    )
    assert details.notes() == [
        "OCR used on 3 pages",
        "2 tables read as rows",
        "25% of its passages shared with 2 documents (Annual report 2023; Quality account 2023): "
        "collapsed in answers",
    ]
    assert FileDetails(source="/a.md", format="markdown", chunks=3).notes() == []


def test_progress_text_for_the_app_and_durations():
    event = IngestEvent(
        index=2,
        total=5,
        path="/up/report.pdf",
        stage="embedding",
        chunks_done=120,
        bytes_done=1000,
        bytes_total=4000,
        elapsed=10.0,
    )
    assert event.rate == 12.0 and event.seconds_left == 30.0
    assert library.progress_fraction(event) == 0.25
    assert library.progress_text(event, {"embedding": "Indexing"}) == (
        "Indexing: report.pdf · 1 of 5 files · 120 passages · 12.0 passages/s · about 30 s left"
    )
    assert (
        progress_text(event)
        == "files 1/5 · 120 chunks · 12.0 chunks/s · about 30 s left · report.pdf: embedding"
    )
    assert (
        format_duration(42) == "42 s"
        and format_duration(200) == "3 min 20 s"
        and format_duration(3900) == "1 h 5 min"
    )
    assert Path(event.path).name == "report.pdf"
