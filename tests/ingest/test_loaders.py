"""Each format's loader on real shared documents and on files generated here, good and broken."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from rag.config import Settings
from rag.errors import IngestError
from rag.ingest.loaders import SUPPORTED_EXTENSIONS, loader_for
from rag.types import KeySource, SourceDocument, content_hash
from tests.ingest.ingest_files import blank_pdf, encrypt_pdf, write_docx, write_pdf, zip_bomb_docx

DISSERTATION = "drcjar_learning-from-patient-safety-incidents_Dissertation.pdf"
CDC = "cdc_guide-infection-prevention-outpatient-settings_v2.3_2016.pdf"
# Navigation, page-header and footer strings of the pkgdown page that are not article text.
INTRO_NAV_STRINGS = (
    "Toggle navigation",
    "Changelog",
    "Other SPC tools",
    "Deviations from Excel defaults",
    "Developed by",
    "Site built with pkgdown",
    "Source: vignettes/intro.Rmd",
    "cdnjs",
)


def load(path: Path, settings: Settings | None = None) -> SourceDocument:
    loader = loader_for(path)
    assert loader is not None, f"no loader for {path.name}"
    return loader(path, settings or Settings())


def page_of(doc: SourceDocument, offset: int) -> int:
    pages = [p.page for p in doc.pages if p.start <= offset < p.end]
    assert len(pages) == 1, f"offset {offset} lies in pages {pages}"
    return pages[0]


def occurrences(text: str, phrase: str) -> list[int]:
    found, at = [], text.find(phrase)
    while at >= 0:
        found.append(at)
        at = text.find(phrase, at + 1)
    return found


@pytest.fixture(scope="module")
def dissertation(shared_docs) -> SourceDocument:
    return load(shared_docs / DISSERTATION)


def test_extensions_map_to_loaders_case_insensitively():
    assert {
        ".pdf",
        ".docx",
        ".pptx",
        ".xlsx",
        ".csv",
        ".tsv",
        ".html",
        ".htm",
        ".md",
        ".markdown",
        ".txt",
        ".text",
    } == set(SUPPORTED_EXTENSIONS)
    assert loader_for(Path("Report.PDF")) is loader_for(Path("x.pdf")) is not None
    assert loader_for(Path("notes.rtf")) is None and loader_for(Path("README")) is None


def test_pdf_pages_are_physical_and_one_based(dissertation, shared_docs):
    doc = dissertation
    assert doc.format == "pdf" and doc.page_count == 135 and len(doc.pages) == 135
    assert [p.page for p in doc.pages] == list(range(1, 136)), "one span per physical page, 1-based"
    assert all(a.end <= b.start for a, b in zip(doc.pages, doc.pages[1:], strict=False)), "spans in order"
    body = [page_of(doc, at) for at in occurrences(doc.text, "Ethics and data storage statement")]
    assert body == [8, 42], f"contents entry on page 8, the section itself on page 42: {body}"
    raw = (shared_docs / DISSERTATION).read_bytes()
    assert doc.meta["file_sha256"] == hashlib.sha256(raw).hexdigest() and doc.size_bytes == len(raw)
    assert doc.doc_id == content_hash(doc.text)
    assert doc.title == Path(DISSERTATION).stem, "no title in the PDF info: the file name"
    assert any(s.path.endswith("Data extraction") for s in doc.sections), "sections come from the outline"


def test_cdc_pdf_title_from_metadata_and_page_twenty(shared_docs):
    doc = load(shared_docs / CDC)
    assert doc.title.startswith("Guide to Infection Prevention For Outpatient Settings"), doc.title
    assert doc.meta["authors"] == ["Centers for Disease Control and Prevention"]
    pages = {page_of(doc, at) for at in occurrences(doc.text, "Infection Control Domains for Gap Assessment")}
    assert 20 in pages, f"the gap-assessment heading is on page 20, found on {pages}"


def test_generated_pdf_page_spans_and_info_title(tmp_path):
    path = write_pdf(tmp_path / "a.pdf", [["First page line."], ["Second page (two)."]], title="Flow audit")
    doc = load(path)
    assert doc.title == "Flow audit"
    assert [doc.text[p.start : p.end] for p in doc.pages] == ["First page line.", "Second page (two)."]


def test_pdf_with_empty_user_password_opens(tmp_path):
    plain = write_pdf(tmp_path / "plain.pdf", [["Readable without a password."]])
    doc = load(encrypt_pdf(plain, tmp_path / "restricted.pdf", user_password=""))
    assert "Readable without a password." in doc.text


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (
            lambda d: encrypt_pdf(write_pdf(d / "p.pdf", [["Secret."]]), d / "locked.pdf", "s3cret"),
            "encrypted PDF",
        ),
        (lambda d: blank_pdf(d / "blank.pdf"), "no text layer and no images: the pages are blank"),
        (lambda d: _write(d / "junk.pdf", b"this is not a PDF at all"), "not a PDF file"),
        (lambda d: _write(d / "broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog"), "corrupt PDF"),
        (lambda d: _write(d / "x.docx", b"PK\x03\x04 but not really a zip"), "not a valid DOCX"),
        (lambda d: _write(d / "y.docx", b"plain text with a docx name"), "not a zip archive"),
        (lambda d: _write(d / "b.txt", b"\x00\x01\x02binary\x00" * 50), "binary file"),
    ],
    ids=["encrypted", "no-text-layer", "not-pdf", "corrupt-pdf", "bad-zip", "not-zip", "binary-text"],
)
def test_bad_files_raise_a_one_line_reason(tmp_path, make, reason):
    path = make(tmp_path)
    with pytest.raises(IngestError) as info:
        load(path)
    message = str(info.value)
    assert reason in message, f"{path.name}: {message!r}"
    assert "\n" not in message and len(message) < 250, f"one short line: {message!r}"


def test_truncated_real_pdf_is_reported_corrupt(tmp_path, shared_docs):
    path = _write(tmp_path / "cut.pdf", (shared_docs / CDC).read_bytes()[:60_000])
    with pytest.raises(IngestError, match="corrupt PDF"):
        load(path)


def test_zip_bomb_docx_is_refused_before_parsing(tmp_path):
    settings = Settings().model_copy(
        update={"ingest": Settings().ingest.model_copy(update={"max_docx_expanded_mb": 2})}
    )
    path = zip_bomb_docx(tmp_path / "bomb.docx", expanded_mb=8)
    assert path.stat().st_size < 100_000, "the archive is small; only its contents are huge"
    with pytest.raises(IngestError, match=r"expands to 8 MB, over the 2 MB limit \(possible zip bomb"):
        load(path, settings)


def test_docx_headings_tables_and_properties(tmp_path):
    doc = load(write_docx(tmp_path / "flow.docx"))
    assert doc.format == "docx" and doc.title == "Discharge before noon"
    assert doc.meta["authors"] == ["A. Manager"]
    assert "Ward: A; Before: 12%; After: 31%." in doc.text, "a row names its columns: " + doc.text
    assert doc.meta["n_tables"] == 1
    paths = [s.path for s in doc.sections]
    assert paths == ["Patient flow", "Patient flow > Criteria-led discharge", "Results"], paths
    criteria = doc.sections[1]
    assert "Nurses discharge patients" in doc.text[criteria.start : criteria.end]
    assert "12%" in doc.text[criteria.start : criteria.end], "the table belongs to the section above it"


def test_docx_title_falls_back_to_first_heading(tmp_path):
    doc = load(write_docx(tmp_path / "untitled.docx", title=""))
    assert doc.title == "Patient flow"


def test_html_keeps_main_text_and_headings_only(shared_docs):
    doc = load(shared_docs / "NHSRplotthedots_intro.html")
    leaked = [s for s in INTRO_NAV_STRINGS if s in doc.text]
    assert not leaked, f"navigation or boilerplate reached the text: {leaked}"
    assert "Welcome to the NHS-R community’s collaborative package" in doc.text
    assert doc.title == "Introduction to the `NHSRplotthedots` package", doc.title
    assert "Introduction to the NHSRplotthedots package > Stable period" in [s.path for s in doc.sections]
    assert "ptd_spc(" in doc.text, "code blocks are kept"


def test_html_without_main_drops_page_chrome(tmp_path):
    html = """<html><head><title>Flow • Site</title><style>p {color: red}</style></head><body>
    <header><a href="/">Home</a> Site banner</header><nav><ul><li>Menu item</li></ul></nav>
    <h1>Flow  and   discharge</h1><p>Discharge   before
    noon helps flow.<br>Second line.</p><script>var tracking = 1;</script>
    <table><tr><th>Ward</th><th>Rate</th></tr><tr><td>A</td><td>31%</td></tr></table>
    <aside>Related posts</aside><form>Search</form><footer>Copyright footer</footer></body></html>"""
    doc = load(_write(tmp_path / "page.htm", html.encode()))
    assert (
        doc.text
        == "Flow and discharge\n\nDischarge before noon helps flow.\nSecond line.\n\nWard: A; Rate: 31%."
    ), doc.text
    assert doc.title == "Flow and discharge", "the first <h1> before a <title> with a site suffix"


def test_html_with_only_boilerplate_fails(tmp_path):
    path = _write(
        tmp_path / "chrome.html", b"<html><body><nav>Menu</nav><footer>Footer</footer></body></html>"
    )
    with pytest.raises(IngestError, match="no main text found"):
        load(path)


def test_markdown_front_matter_becomes_metadata(shared_docs):
    path = shared_docs / "nhsr-blog_introduction-to-funnel-plots.md"
    doc = load(path)
    assert doc.title == "Introduction to Funnel Plots"
    assert doc.meta["authors"] == ["Chris Mainey"] and doc.meta["year"] == 2019
    assert doc.meta["topics"] == ["Statistics", "ggplot2", "base R"]
    raw = path.read_text(encoding="utf-8")
    assert doc.text in raw and not doc.text.startswith("---"), "body kept verbatim, front matter left out"
    assert "Construction > Example:" in [s.path for s in doc.sections]


def test_markdown_fields_synonyms_and_headings_in_code(tmp_path):
    text = """---
title: Spread and scale
authors: [{name: Ann Smith}, Bo Lee]
year: 2021
url: https://example.org/spread
license: CC BY 4.0
tags: improvement, spread
description: How spread differs from scale.
---
# Spread

```python
# not a heading
```

## Scale in *practice*
Body.
"""
    doc = load(_write(tmp_path / "s.markdown", text.encode()))
    assert doc.title == "Spread and scale"
    expected = {
        "authors": ["Ann Smith", "Bo Lee"],
        "year": 2021,
        "url": "https://example.org/spread",
        "licence": "CC BY 4.0",
        "topics": ["improvement", "spread"],
        "summary": "How spread differs from scale.",
    }
    assert {k: doc.meta[k] for k in expected} == expected
    assert [s.path for s in doc.sections] == ["Spread", "Spread > Scale in practice"]
    assert doc.text.startswith("# Spread\n\n```python\n# not a heading"), "Markdown syntax kept, not rendered"


def test_markdown_key_sources_as_plain_citations_or_objects(tmp_path):
    """Plain strings (user documents) and {citation, doi, url} objects (the starter briefs) both load."""
    text = """---
title: Key sources
key_sources:
  - "Plain citation, as user documents write them. 2001."
  - citation: "Taylor MJ et al. 2014. Systematic review of PDSA. BMJ Qual Saf 23(4):290-298."
    doi: "10.1136/bmjqs-2013-001862"
  - citation: "NHS England. 2019. The NHS Long Term Plan."
    url: "https://www.longtermplan.nhs.uk/publication/nhs-long-term-plan/"
  - citation: "A pasted resolver link."
    doi: "https://doi.org/10.1001/jama.2009.1000"
  - citation: "A link that must not become clickable."
    url: "javascript:alert(1)"
  - {doi: "10.1000/no-citation"}
---
# Body

Text.
"""
    doc = load(_write(tmp_path / "k.md", text.encode()))
    assert doc.meta["key_sources"] == [
        {"citation": "Plain citation, as user documents write them. 2001."},
        {
            "citation": "Taylor MJ et al. 2014. Systematic review of PDSA. BMJ Qual Saf 23(4):290-298.",
            "doi": "10.1136/bmjqs-2013-001862",
            "url": "https://doi.org/10.1136/bmjqs-2013-001862",
        },
        {
            "citation": "NHS England. 2019. The NHS Long Term Plan.",
            "url": "https://www.longtermplan.nhs.uk/publication/nhs-long-term-plan/",
        },
        {
            "citation": "A pasted resolver link.",
            "doi": "10.1001/jama.2009.1000",
            "url": "https://doi.org/10.1001/jama.2009.1000",
        },
        {"citation": "A link that must not become clickable."},
    ], "an entry without a citation is dropped; a non-web URL is not kept as a link"
    assert KeySource.all_in(doc.meta)[1] == KeySource(
        "Taylor MJ et al. 2014. Systematic review of PDSA. BMJ Qual Saf 23(4):290-298.",
        "10.1136/bmjqs-2013-001862",
        "https://doi.org/10.1136/bmjqs-2013-001862",
    )
    plain = load(_write(tmp_path / "p.md", b"---\ntitle: P\nkey_sources: One source. 2003.\n---\nText.\n"))
    assert plain.meta["key_sources"] == [{"citation": "One source. 2003."}], "a single string is one source"
    assert "key_sources" not in load(_write(tmp_path / "n.md", b"# N\n\nText.\n")).meta


def test_markdown_bad_front_matter_is_ignored_with_a_reason(tmp_path):
    path = _write(tmp_path / "bad.md", b"---\ntitle: [unclosed\n---\n# Real heading\n\nText.\n")
    doc = load(path)
    assert doc.title == "Real heading", "falls back to the first heading"
    assert "front_matter_error" in doc.meta and "\n" not in doc.meta["front_matter_error"]
    assert doc.text == "# Real heading\n\nText.\n"


def test_text_in_cp1252_is_decoded(tmp_path):
    sentence = "Café staff said the “huddle” cut delays – naïvely, we’d expected less. " * 5
    doc = load(_write(tmp_path / "notes.txt", sentence.encode("cp1252")))
    assert doc.text == sentence, doc.text[:80]
    assert doc.title == "notes", "plain text is titled by its file name"
    assert doc.meta["encoding"] in {"cp1252", "windows-1252", "latin_1", "iso8859_1", "cp1250"}


def test_utf8_with_bom_and_crlf(tmp_path):
    doc = load(_write(tmp_path / "w.text", "\ufeffLine one\r\nLine two\r\n".encode()))
    assert doc.text == "Line one\nLine two\n" and "encoding" not in doc.meta


def test_whitespace_only_file_has_no_text(tmp_path):
    with pytest.raises(IngestError, match="no text found"):
        load(_write(tmp_path / "blank.md", b"   \n\n  \n"))


def _write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path
