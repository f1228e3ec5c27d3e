"""PDF reading order on the shared PDFs: columns, running headers and footers, footnotes, hyphens."""

from __future__ import annotations

import re
from functools import cache

import pypdf
import pytest

from rag.config import ChunkingSettings, Settings
from rag.ingest.chunking import chunk_document
from rag.ingest.loaders.pdf import load
from rag.ingest.pdf_text import join_hyphenated
from rag.types import SourceDocument
from tests.conftest import SHARED_DOCS

HASY = "MartinThoma_HASYv2-dataset-paper_IEEEtran-two-column.pdf"
FEDREG = "federal-register_2020-17221_FAA-737MAX-proposed-airworthiness-directive.pdf"
IRS = "irs_instructions-form-1040NR_2007.pdf"
# Physical pages' printed running headers and footers: none may be left in the text.
IRS_CHROME = (
    "MUST be removed before printing",
    "The type and rule above prints on all proofs",
    re.compile(r"Page \d+ of 48"),
    re.compile(r"Instructions for Form 1040NR\s*-\s*\d+\s*-"),
)
FEDREG_CHROME = ("Federal Register / Vol. 85", "VerDate", "jbell on DSK", "PROPOSALS", "06AUP1")


@cache
def document(name: str) -> SourceDocument:
    return load(SHARED_DOCS.resolve() / name, Settings())


def words(text: str) -> str:
    return " ".join(text.split())


def page_text(doc: SourceDocument, page: int) -> str:
    span = doc.pages[page - 1]
    assert span.page == page
    return doc.text[span.start : span.end]


@pytest.mark.parametrize(
    ("name", "page", "sentence"),
    [
        # Column 1 of page 1 ends after "exist in", under a footnote; column 2 goes on.
        (HASY, 1, "An example is \\varphi (ϕ) and \\phi (φ): Both represent the small Greek letter “phi”, "
         "but they exist in two different variants."),
        # Column 1 of page 2 ends after "alert, and", above the footnotes; column 2 goes on.
        (FEDREG, 2, "These effects include stall warning activation, airspeed disagree alert, and altitude "
         "disagree alert,5 and may affect the flightcrew’s ability to accomplish continued safe flight "
         "and landing."),
        # The IRS page is set line by line across three columns: the stream order interleaves them.
        (IRS, 3, "However, if you have no gross income for 2007, do not complete the schedules for Form "
         "1040NR. Instead, attach a list of the kinds of exclusions you claim and the amount of each."),
    ],
    ids=["hasy-two-columns", "federal-register-three-columns", "irs-three-columns"],
)  # fmt: skip
def test_a_sentence_across_a_column_break_comes_out_whole(name, page, sentence):
    text = words(page_text(document(name), page))
    assert sentence in text, f"not found whole on page {page}: {text[:600]}"


@pytest.mark.parametrize(
    ("name", "chrome"), [(IRS, IRS_CHROME), (FEDREG, FEDREG_CHROME)], ids=["irs", "fedreg"]
)
def test_running_headers_footers_and_margin_text_are_gone(name, chrome):
    text = document(name).text
    for noise in chrome:
        found = noise.findall(text) if isinstance(noise, re.Pattern) else [noise] * text.count(noise)
        assert not found, f"{name}: {found[:3]} left in the text"


def test_a_sentence_across_a_page_break_has_no_header_inside():
    doc = document(FEDREG)
    body, notes = words(page_text(doc, 2)).split(" 1Preliminary KNKT.18.10.35.04", 1)
    assert body.endswith("In addition to these four design changes, the FAA also proposes to"), body[-200:]
    assert "Ethiopian Aircraft Accident Investigation" in notes, "the page's footnotes follow its body text"
    # Page 3 opens with the rest of the sentence, not with "47700 Federal Register / Vol. 85 ...".
    assert words(page_text(doc, 3)).startswith("require operators to conduct an AOA sensor system test")


def test_hyphenated_line_breaks_are_joined_when_the_word_is_a_word():
    hasy = document(HASY).text
    assert "develop applications. Especially MNIST" in words(hasy), "applica- / tions joined"
    assert "applica-" not in hasy
    fedreg = document(FEDREG).text
    assert "non-\nnormal" in fedreg, "the FAA writes non-normal with a hyphen: kept"


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["a quality improve-\nment project"], ["a quality improvement project"]),
        (["their well-\nbeing matters"], ["their well-\nbeing matters"]),  # "wellbeing": not in the list
        (["COVID-\n19 wards", "Anglo-\nSaxon"], ["COVID-\n19 wards", "Anglo-\nSaxon"]),
        # The document's own spelling wins over the word list, either way.
        (["a self-\ncare plan", "self-care at home"], ["a self-\ncare plan", "self-care at home"]),
        (["the data-\nset", "one dataset"], ["the dataset", "one dataset"]),
    ],
    ids=["word", "compound", "digits-capitals", "document-hyphenates", "document-joins"],
)
def test_hyphen_rule(texts, expected):
    assert join_hyphenated(texts) == expected


@pytest.mark.parametrize("name", sorted(p.name for p in SHARED_DOCS.glob("*.pdf") if "scan" not in p.name))
def test_pages_and_offsets_are_exact(name):
    path = SHARED_DOCS.resolve() / name
    doc = document(name)
    assert len(doc.pages) == len(pypdf.PdfReader(path).pages) == doc.page_count, "one span per physical page"
    assert [p.page for p in doc.pages] == list(range(1, len(doc.pages) + 1))
    assert all(a.end <= b.start for a, b in zip(doc.pages, doc.pages[1:], strict=False))
    chunks = chunk_document(doc, ChunkingSettings())
    assert chunks and all(c.text == doc.text[c.start : c.end] for c in chunks), "chunks are verbatim slices"
    for chunk in chunks:
        inside = [p.page for p in doc.pages if p.start <= chunk.start < p.end or p.start < chunk.end <= p.end]
        assert chunk.page == min(inside) and chunk.page_end == max(inside), (
            chunk.page,
            chunk.page_end,
            inside,
        )
