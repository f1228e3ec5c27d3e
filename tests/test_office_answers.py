"""Slides and workbooks end to end: a slide's text is cited with its slide number, a table cell is found.

The real shared deck and ONS workbook, the real model and Chroma in tmp_path.
"""

from __future__ import annotations

import io
import shutil

import pytest

from rag.app import view
from rag.cli.ask import print_answer
from rag.config import Settings
from rag.engine import ChangeGuide

DECK = "nhsbsa_coffee-and-coding_survival-analysis-in-R_2025-05.pptx"
WORKBOOK = "ons_weekly-deaths-registered-england-wales-2020_provisional.xlsx"


@pytest.fixture(scope="module")
def engine(tmp_path_factory, shared_docs, embedder):
    folder = tmp_path_factory.mktemp("office") / "docs"
    folder.mkdir()
    for name in (DECK, WORKBOOK):
        shutil.copy(shared_docs / name, folder / name)
    engine = ChangeGuide(Settings().with_index_dir(folder.parent / "index"), embedder=embedder)
    report = engine.ingest([folder])
    assert report.ok and len(report.added) == 2, report
    yield engine
    engine.close()


@pytest.mark.slow
def test_a_slide_is_cited_with_its_slide_number(engine):
    answer = engine.ask("What do we know about a participant's event time when it is censored?")
    assert not answer.abstained, answer.text
    slide = [c for c in answer.citations if c.source.endswith(".pptx")]
    assert slide, [(c.n, c.source) for c in answer.citations]
    cited = next(c for c in slide if "exact event time" in c.excerpt)
    assert cited.page == cited.page_end == 11 and cited.section == "Censuring", cited
    card = view.citation_card(cited, engine.index.source_document(cited.doc_id))
    assert card.location == "slide 11 · Censuring" and card.context_label == "Slide 11", card
    out = io.StringIO()
    print_answer(answer, out)
    assert f"[{cited.n}] Survival Analysis, slide 11, Censuring" in out.getvalue(), out.getvalue()


@pytest.mark.slow
def test_a_workbook_cell_is_found_with_its_row_and_column_headers(engine):
    cell = "Week number 13, Week ended 27 March 2020: 11141"
    hits = engine.retriever.search("Total deaths, all ages, week ended 27 March 2020 (week 13)", 10)
    rows = [h.chunk for h in hits if cell in h.chunk.text]
    assert rows, [h.chunk.text[:80] for h in hits]
    line = next(ln for ln in rows[0].text.splitlines() if cell in ln)
    assert line.startswith("Total deaths, all ages: "), line
    assert rows[0].section == "Weekly figures 2020" and rows[0].meta["format"] == "xlsx"
