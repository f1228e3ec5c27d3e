"""PPTX, XLSX and CSV loaders on the real shared files and on files generated here, good and broken."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import IngestSettings, Settings
from rag.errors import IngestError
from rag.ingest.chunking import chunk_document
from rag.ingest.loaders import loader_for
from rag.ingest.loaders.tabular import sheet_lines
from rag.types import SourceDocument
from tests.ingest.ingest_files import write_pptx, zip_bomb_docx

DECK = "nhsbsa_coffee-and-coding_survival-analysis-in-R_2025-05.pptx"
WORKBOOK = "ons_weekly-deaths-registered-england-wales-2020_provisional.xlsx"
TIDY_CSV = "NHSRdatasets_ons-weekly-mortality-2010-2020_tidy.csv"
TIDY_CSV_ROWS = 18_803  # data rows, from MANIFEST.tsv


def load(path: Path, settings: Settings | None = None) -> SourceDocument:
    loader = loader_for(path)
    assert loader is not None, f"no loader for {path.name}"
    return loader(path, settings or Settings())


def slide_of(doc: SourceDocument, offset: int) -> int:
    pages = [p.page for p in doc.pages if p.start <= offset < p.end]
    assert len(pages) == 1, f"offset {offset} lies in slides {pages}"
    return pages[0]


def section_at(doc: SourceDocument, offset: int) -> str:
    paths = [s.path for s in doc.sections if s.start <= offset < s.end]
    assert len(paths) == 1, f"offset {offset} lies in sections {paths}"
    return paths[0]


@pytest.fixture(scope="module")
def deck(shared_docs) -> SourceDocument:
    return load(shared_docs / DECK)


@pytest.fixture(scope="module")
def workbook(shared_docs) -> SourceDocument:
    return load(shared_docs / WORKBOOK)


# -- PPTX ----------------------------------------------------------------------------------------


def test_deck_slides_are_pages_and_titles_are_sections(deck):
    assert deck.format == "pptx" and deck.page_count == 12
    assert [p.page for p in deck.pages] == list(range(1, 13)), "one page span per slide"
    assert deck.title == "Survival Analysis", "the first slide's title, not the template's name"
    assert deck.meta["year"] == 2025, "last saved in May 2025 (the template dates from 2016)"
    censoring = deck.text.index("We have some information about a participant’s event time")
    assert slide_of(deck, censoring) == 11 and section_at(deck, censoring) == "Censuring"
    for page in deck.pages:
        assert not deck.text[page.start : page.end].startswith("\n"), "spans start at the slide's text"
    assert deck.text[deck.pages[9].start : deck.pages[9].end] == "Censuring", "slide 10: a section header"


def test_deck_tables_become_rows_with_their_headers(deck):
    assert deck.meta["n_tables"] == 3, "tables on slides 3, 4 and 5"
    row = "Trial: Survivors; t0: 4; t1: 4; t2: 4; t3: 3; t4: 2; t5: 2; t6: 1; t7: 1; t8: 1"
    at = deck.text.index(row)
    assert slide_of(deck, at) == 3 and section_at(deck, at) == "Dice game"
    come_back = deck.text.index("t0: Anna; t1: 2; t2: 4; t3: 4; t4: 6; t5: -; t6: -; t7: 4; t8: 2")
    assert slide_of(deck, come_back) == 5, "the table where players come back in"


def test_deck_chunks_carry_the_slide_number(deck):
    chunks = chunk_document(deck, Settings().chunking)
    hits = [c for c in chunks if "Kaplan–Meier estimator" in c.text]
    assert hits and all(c.page <= 9 <= c.page_end for c in hits), [(c.page, c.page_end) for c in hits]
    for chunk in chunks:
        assert deck.text[chunk.start : chunk.end] == chunk.text


def test_generated_deck_reading_order_notes_and_untitled_slide(tmp_path):
    doc = load(write_pptx(tmp_path / "deck.pptx"))
    assert doc.page_count == 3 and doc.title == "Discharge before noon"
    slide2 = doc.text[doc.pages[1].start : doc.pages[1].end]
    assert slide2.index("Ward: A; Before: 12%; After: 31%") < slide2.index("Both wards improved"), (
        "the table sits above the text box on the slide"
    )
    notes = doc.text.index("Mention that ward B started two weeks later.")
    assert slide_of(doc, notes) == 2 and section_at(doc, notes) == "Results by ward > Speaker notes"
    assert doc.meta["notes_slides"] == 1 and doc.meta["n_tables"] == 1
    questions = doc.text.index("Questions?")
    assert slide_of(doc, questions) == 3 and section_at(doc, questions) == "Slide 3"


def test_broken_pptx_files_are_refused_with_a_reason(tmp_path):
    (tmp_path / "notzip.pptx").write_bytes(b"not a zip archive")
    with pytest.raises(IngestError, match="not a valid PPTX: the file is not a zip archive"):
        load(tmp_path / "notzip.pptx")
    zip_bomb_docx(tmp_path / "bomb.pptx", expanded_mb=8)
    small = Settings().model_copy(update={"ingest": IngestSettings(max_docx_expanded_mb=2)})
    with pytest.raises(IngestError, match="possible zip bomb"):
        load(tmp_path / "bomb.pptx", small)
    with pytest.raises(IngestError, match="no ppt/presentation.xml"):
        load(tmp_path / "bomb.pptx")


# -- XLSX ----------------------------------------------------------------------------------------


def test_workbook_sheets_are_sections_prose_and_data(workbook):
    paths = [s.path for s in workbook.sections]
    assert paths[:5] == ["Analysis", "Contents", "Information", "Terms and conditions", "Weekly figures 2020"]
    assert len(paths) == 12, "every sheet with content is a section"
    terms = workbook.text.index("You may re-use this publication (not including logos) free of charge")
    assert section_at(workbook, terms) == "Terms and conditions", "a prose sheet reads as text"
    assert workbook.meta["n_tables"] >= 7 and workbook.meta["rows_left_out"] == 0
    assert workbook.title == Path(WORKBOOK).stem and workbook.meta["year"] == 2020


def test_workbook_named_cell_is_found_with_its_row_and_column_headers(workbook):
    # Weekly figures 2020: the header rows (week number, week ended) are rows 5-6 under a title
    # and a note; "Total deaths, all ages" is row 9, week 13 (27 March 2020) is column O.
    cell = "Week number 13, Week ended 27 March 2020: 11141"
    line = next(ln for ln in workbook.text.splitlines() if cell in ln)
    assert line.startswith("Total deaths, all ages: "), line
    assert section_at(workbook, workbook.text.index(line)) == "Weekly figures 2020"
    # Place of occurrence: two header levels under merged cells (week, then country, then measure).
    care = "Week number 13, Week ended 27 March 2020, England and Wales, COVID-19 deaths: 20"
    line = next(ln for ln in workbook.text.splitlines() if care in ln)
    assert line.startswith("Care Home: "), line
    # Group labels above a block of rows travel with each row.
    assert "Persons 6, Deaths by age group, <1: Week number 1, Week ended 3 January 2020: 48" in workbook.text
    # A table with one header row and dates down its first column.
    assert "Date: 27 March 2020; Daily death counts released on GOV.UK (E&W only): " in workbook.text


def test_workbook_chunks_keep_rows_with_their_labels(workbook):
    chunks = chunk_document(workbook, Settings().chunking)
    for chunk in chunks:
        assert workbook.text[chunk.start : chunk.end] == chunk.text
    # Chunks are cut at line ends (overlaps may start mid-row), so each row line is whole in one.
    lines = [ln for ln in workbook.text.splitlines() if ": " in ln and len(ln) > 100]
    assert len(lines) > 300
    missing = [ln for ln in lines if not any(ln in c.text for c in chunks)]
    assert not missing, f"{len(missing)} row lines split between chunks, e.g. {missing[0][:120]}"
    line = next(ln for ln in lines if "Week number 13, Week ended 27 March 2020: 11141" in ln)
    cell = next(c for c in chunks if line in c.text)
    assert line.startswith("Total deaths, all ages: ") and cell.section == "Weekly figures 2020"


def test_workbook_row_limit_reads_the_first_rows_and_says_how_many_were_left_out(shared_docs):
    small = Settings().model_copy(update={"ingest": IngestSettings(max_rows_per_sheet=20)})
    doc = load(shared_docs / WORKBOOK, small)
    assert doc.meta["rows_left_out"] > 0
    truncated = doc.meta["truncated_sheets"]
    assert any(t.startswith("Weekly figures 2020: ") and t.endswith("rows after row 20") for t in truncated)
    assert "Week number 13, Week ended 27 March 2020: 11141" in doc.text, "row 9 is within the limit"
    assert "Persons 6, Deaths by age group, 30-34" not in doc.text, "row 25 is past it"
    assert "Summary of the 82 rows after row 20, left out by the row limit" in doc.text
    assert "Week number 13, Week ended 27 March 2020: from 0 to " in doc.text, "summarised under its headers"


def test_header_rows_found_below_title_rows_in_a_small_sheet():
    rows = [
        ["Staff survey 2024: results by site", None, None],
        [None, None, None],
        ["Site", "Responses", "Engagement score"],
        ["North", 412, 7.1],
        ["South", 388, 6.8],
        ["East", 120, 7.4],
        ["Source: staff survey coordination centre", None, None],
    ]
    read = sheet_lines(rows)
    assert read.is_data and read.n_tables == 1 and read.data_rows == 3
    text = "\n\n".join(read.blocks)
    assert "Site: South; Responses: 388; Engagement score: 6.8" in text, text
    assert text.startswith("Staff survey 2024: results by site"), "the title stays as text"
    assert "Source: staff survey coordination centre" in text


def test_broken_xlsx_is_refused_with_a_reason(tmp_path):
    (tmp_path / "notzip.xlsx").write_bytes(b"PK")
    with pytest.raises(IngestError, match="not a valid XLSX"):
        load(tmp_path / "notzip.xlsx")


# -- CSV -----------------------------------------------------------------------------------------


def test_tidy_csv_rows_read_up_to_the_limit(shared_docs):
    doc = load(shared_docs / TIDY_CSV)
    limit = Settings().ingest.max_rows_per_sheet
    assert doc.format == "csv" and doc.meta["n_tables"] == 1
    assert doc.meta["rows_left_out"] == TIDY_CSV_ROWS + 1 - limit, "the header is row 1"
    assert doc.meta["truncated_sheets"] == [
        f"{Path(TIDY_CSV).stem}: {TIDY_CSV_ROWS + 1 - limit:,} rows after row {limit:,}"
    ]
    row = "category_1: Total deaths; category_2: all ages; counts: 12968; date: 2010-01-08; week_no: 1"
    lines = doc.text.splitlines()
    assert row in lines, "a cell with its column headers"
    assert len([ln for ln in lines if "; week_no: " in ln]) == limit - 1, "one line per listed row"
    # The rows past the limit are summarised column by column, so the table's extent is still known.
    heading = (
        f"Summary of the {TIDY_CSV_ROWS + 1 - limit:,} rows after row {limit:,}, left out by the row limit"
    )
    summary = lines[lines.index(heading + " (made at ingestion):") :]
    assert "date: from 2010-01-08 to 2020-04-03" in summary and "week_no: from 1 to 53" in summary, summary
    assert any(ln.startswith("counts: from 0 to 16387") for ln in summary), summary
    assert any(ln.startswith("category_1: 9 values, most common: ") for ln in summary), summary


def test_tidy_csv_in_full_when_the_limit_allows(shared_docs):
    roomy = Settings().model_copy(update={"ingest": IngestSettings(max_rows_per_sheet=20_000)})
    doc = load(shared_docs / TIDY_CSV, roomy)
    assert doc.meta["rows_left_out"] == 0 and "truncated_sheets" not in doc.meta
    assert len(doc.text.splitlines()) == 2 + TIDY_CSV_ROWS and "Summary of the" not in doc.text


def test_csv_encoding_and_delimiter_are_sniffed(tmp_path):
    path = tmp_path / "wards.csv"
    path.write_bytes("Ward;Café sales;Notes\nA;12;naïve\nB;9;résumé\n".encode("cp1252"))
    doc = load(path)
    assert "Ward: A; Café sales: 12; Notes: naïve" in doc.text, doc.text
    assert doc.meta["encoding"].lower().replace("_", "") in {"cp1252", "windows1252"}
    tsv = tmp_path / "wards.tsv"
    tsv.write_text("Ward\tBeds\nA\t24\n", encoding="utf-8")
    assert "Ward: A; Beds: 24" in load(tsv).text


def test_binary_csv_is_refused(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(IngestError, match="binary file"):
        load(path)
