"""Tables in PDF, DOCX and HTML become rows that name their columns, after their caption or title."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from rag.config import Settings
from rag.ingest.loaders import loader_for
from rag.ingest.tables import render_table
from rag.types import SourceDocument
from tests.conftest import SHARED_DOCS

FBI = "fbi_nics-firearm-background-checks-by-state_2015-11.pdf"
HASY = "MartinThoma_HASYv2-dataset-paper_IEEEtran-two-column.pdf"
IRS = "irs_instructions-form-1040NR_2007.pdf"
OHDSI = "OHDSI_KeppraAngioedema_study-protocol_v0.5.docx"
# The first cells of the FBI table's Alabama row, as the PDF prints them (columns under their
# group headers: "Pre-Pawn" over Handgun / Long Gun / *Other).
ALABAMA = (
    "State / Territory: Alabama; Permit: 18,870; Handgun: 23,022; Long Gun: 22,650; *Other: 859; "
    "**Multiple: 1,178; Admin: 0; Pre-Pawn / Handgun: 14; Pre-Pawn / Long Gun: 15; Pre-Pawn / *Other: 0; "
    "Redemption / Handgun: 2,179;"
)


@cache
def document(name: str) -> SourceDocument:
    path = SHARED_DOCS.resolve() / name
    return loader_for(path)(path, Settings())


def lines(doc: SourceDocument) -> list[str]:
    return doc.text.splitlines()


def test_fbi_table_rows_name_their_columns_under_the_title():
    doc = document(FBI)
    assert doc.meta["n_tables"] == 1
    rows = [line for line in lines(doc) if line.startswith("State / Territory: ")]
    assert len(rows) == 56, "55 states and territories, then the totals row"
    alabama = next(r for r in rows if r.startswith("State / Territory: Alabama;"))
    assert alabama.startswith(ALABAMA), alabama[:300]
    assert alabama.endswith("Totals: 71,137."), alabama[-80:]
    assert "Rentals" not in alabama, "Alabama's empty Rentals cells are left out"
    wyoming = next(r for r in rows if "Wyoming" in r)
    assert "Handgun: 1,745; Long Gun: 2,372;" in wyoming
    assert doc.text.index("NICS Firearm Background Checks\nNovember - 2015") < doc.text.index(ALABAMA)


def test_hasy_tables_keep_their_caption_and_group_header():
    text = document(HASY).text
    caption = text.index("Table II: Classification results for eight classifiers.")
    row = text.index("Classifier: TF-CNN; MNIST: 99.20 %; Test Accuracy / HASY: 81.0 %; "
                     "Test Accuracy / min – max: 80.6 % – 81.5 %.")  # fmt: skip
    assert caption < row < caption + 600, "the caption (set under the table) comes just before its rows"
    assert "Network: 2-layer; Parameters: 3 023 537; Test Accuracy / mean: 73.8 %;" in text, (
        "thousands set with thin spaces stay one cell"
    )


def test_irs_tax_tables_printed_side_by_side_are_read_one_after_another():
    doc = document(IRS)
    row = next(line for line in lines(doc) if "At least: 25,200;" in line)
    assert "But less than: 25,250; Single: 3,393;" in row and row.endswith(
        "Married filing separately: 3,393."
    ), row
    page = next(p.page for p in doc.pages if p.start <= doc.text.index(row) < p.end)
    assert page == 37, "the 25,200 line of the tax table is on page 37"
    rows = [line for line in lines(doc) if "At least: " in line and "Single: " in line]
    assert len(rows) > 1000, "the twelve pages of tax tables come out as rows"


def test_docx_tables_rows_headers_and_a_long_list():
    doc = document(OHDSI)
    assert doc.meta["n_tables"] == 3
    amendments = next(s for s in doc.sections if s.path.endswith("Amendments and Updates"))
    body = doc.text[amendments.start : amendments.end]
    assert "0.5 | 17 May 2016 | Martijn Schuemie | Updated Methods section." in body.splitlines(), (
        "a table without a header row keeps its cells in order"
    )
    assert "Milestone: Start of analysis" in lines(doc), "a header row names the column"
    listing = doc.text.split("Negative controls were defined as any of the following diagnoses:")[1]
    items = listing.strip().split("\n\n")[0].splitlines()
    assert len(items) == 100 and items[0] == "Acute renal failure syndrome" and items[-1] == "Viral pneumonia"


def test_html_table_with_caption_two_level_header_and_spans(tmp_path: Path):
    html = """<html><body><main><h1>Discharges</h1>
    <table><caption>Table 1. Discharges before noon by ward</caption>
    <thead><tr><th rowspan="2">Ward</th><th colspan="2">Before noon</th><th rowspan="2">Beds</th></tr>
    <tr><th>2023</th><th>2024</th></tr></thead>
    <tbody><tr><th>Oak</th><td>12%</td><td>31%</td><td>24</td></tr>
    <tr><td>Elm</td><td colspan="2">not reported</td><td>18</td></tr></tbody></table>
    </main></body></html>"""
    path = tmp_path / "wards.html"
    path.write_text(html, encoding="utf-8")
    doc = loader_for(path)(path, Settings())
    assert doc.meta["n_tables"] == 1
    assert doc.text.split("\n\n")[1].splitlines() == [
        "Table 1. Discharges before noon by ward",
        "Ward: Oak; Before noon / 2023: 12%; Before noon / 2024: 31%; Beds: 24.",
        "Ward: Elm; Before noon / 2023: not reported; Beds: 18.",
    ], doc.text


@pytest.mark.parametrize(
    ("rows", "n_header", "expected"),
    [
        ([["Ward", "Rate"], ["A", "31%"]], 1, "Ward: A; Rate: 31%."),
        ([["0.1", "18 April 2016", "Initial draft"]], 0, "0.1 | 18 April 2016 | Initial draft."),
        ([["Milestone", "Date"], ["Start of analysis", ""]], 1, "Milestone: Start of analysis"),
    ],
    ids=["named", "no-header", "empty-cell"],
)
def test_rows_render(rows, n_header, expected):
    assert render_table(rows, n_header) == expected


def test_a_figure_in_a_table_is_answered_with_the_row_quoted(tmp_path, embedder, shared_docs):
    """The extractive answerer quotes the row, so the figure comes with its row and column names."""
    import shutil

    from rag.engine import ChangeGuide

    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(shared_docs / FBI, folder / FBI)
    engine = ChangeGuide(Settings().with_index_dir(tmp_path / "index"), embedder=embedder)
    try:
        assert engine.ingest([folder]).ok
        answer = engine.ask("How many handgun checks were there in Alabama in November 2015?")
    finally:
        engine.close()
    assert not answer.abstained and answer.citations, answer
    quote = answer.citations[0]
    assert ALABAMA in quote.excerpt and quote.page == 1, quote.excerpt[:300]
