"""The ingestion pipeline end to end: real files, the real model, a real index in tmp_path."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from rag.config import IngestSettings
from rag.index.store import Index
from rag.ingest.loaders import SUPPORTED_EXTENSIONS
from rag.ingest.ocr import tesseract_missing
from rag.ingest.pipeline import IngestEvent, IngestReport, ingest_paths
from tests.ingest.ingest_files import blank_pdf, encrypt_pdf, write_docx, write_pdf, zip_bomb_docx

DISSERTATION = "drcjar_learning-from-patient-safety-incidents_Dissertation.pdf"
FOOTER = "nhse-sw-style-guide_footer_OGL-evidence.html"
# Files of ../shared/docs that cannot be ingested, and why (the folder grows: everything else
# with a supported extension must be added, everything with another extension skipped).
SCANS = (
    "ocrmypdf_epson-scan_wikipedia-optical-character-recognition-p1.pdf",
    "ocrmypdf_linn-scan_LinnSequencer-brochure.pdf",
)
# The scans are read with OCR when Tesseract is installed (scripts/ensure_ocr.sh installs it
# as root); without it they fail with the reason and the install command.
EXPECTED_FAILURES = {
    FOOTER: "no main text found: the page holds only navigation or boilerplate",
    **(
        {}
        if tesseract_missing() is None
        else dict.fromkeys(SCANS, "no text layer: this scanned PDF needs OCR; Tesseract is not installed")
    ),
}
INTRO_NAV_STRINGS = (
    "Toggle navigation",
    "Changelog",
    "Other SPC tools",
    "Developed by",
    "Site built with pkgdown",
)


def note(text: str, words: int = 60) -> str:
    return (text + " ") * max(1, words // max(1, len(text.split())))


def expected_outcome(folder: Path) -> tuple[set[str], set[str]]:
    """(file names that must be added, file names that must be skipped) among `folder`'s files."""
    names = {p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")}
    supported = {n for n in names if Path(n).suffix.lower() in SUPPORTED_EXTENSIONS}
    return supported - set(EXPECTED_FAILURES), names - supported


@pytest.fixture(scope="module")
def library(tmp_path_factory, shared_docs, embedder):
    """The shared documents ingested once into a fresh index (the expensive part of this module)."""
    from rag.config import Settings

    settings = Settings().with_index_dir(tmp_path_factory.mktemp("library") / "index")
    events: list[IngestEvent] = []
    index = Index.open(settings)
    report = ingest_paths([shared_docs], index, embedder, settings, progress=events.append)
    yield settings, index, report, events
    index.close()


@pytest.mark.slow
def test_shared_library_is_ingested_except_the_files_that_cannot_be(library, shared_docs):
    _, index, report, events = library
    added, skipped = expected_outcome(shared_docs)
    failed = {Path(s).name: reason for s, reason in report.failed}
    assert set(failed) == set(EXPECTED_FAILURES), report.failed
    for name, reason in EXPECTED_FAILURES.items():
        assert failed[name].startswith(reason), f"{name}: {failed[name]}"
    assert {Path(s).name for s, _ in report.skipped} == skipped, report.skipped
    assert {Path(s).name for s, _, _ in report.added} == added and not report.updated, report
    assert not report.unchanged and not report.ok
    stats = index.stats()
    assert stats.documents == len(added) and stats.chunks == report.n_chunks_added > 300, stats
    assert index.verify() == [], "Chroma, BM25 and the registry agree"
    n_supported = len(added) + len(EXPECTED_FAILURES)
    finals = [e for e in events if e.finished]
    assert len(finals) == n_supported and {e.total for e in events} == {n_supported}, (
        "one final event per file"
    )
    assert [e.index for e in finals] == list(range(1, n_supported + 1)), "files finish in discovery order"
    assert {e.stage for e in events} >= {"loading", "embedding", "storing", "added", "failed"}


@pytest.mark.slow
def test_records_carry_metadata_and_pages(library, shared_docs):
    _, index, _, _ = library
    pdf = index.document_by_source(str(shared_docs / DISSERTATION))
    assert pdf is not None and pdf.format == "pdf" and pdf.page_count == 135
    assert pdf.size_bytes == (shared_docs / DISSERTATION).stat().st_size and pdf.ingested_at
    md = index.document_by_source(str(shared_docs / "nhsr-blog_introduction-to-funnel-plots.md"))
    assert md is not None and md.title == "Introduction to Funnel Plots"
    assert md.meta["authors"] == ["Chris Mainey"] and md.meta["year"] == 2019
    assert md.meta["topics"] == ["Statistics", "ggplot2", "base R"]


@pytest.mark.slow
def test_stored_chunks_keep_pages_and_drop_navigation(library, shared_docs):
    _, index, _, _ = library
    pdf = index.document_by_source(str(shared_docs / DISSERTATION))
    hits = [c for c in index.document_chunks(pdf.doc_id) if "Ethics and data storage statement" in c.text]
    assert sorted(c.page for c in hits) == [8, 42], [(c.page, c.page_end) for c in hits]
    found = [cid for cid, _ in index.keyword_search("Ethics and data storage statement", 3)]
    assert any(c.id in found for c in hits if c.page == 42), "keyword search reaches the page-42 chunk"
    html = index.document_by_source(str(shared_docs / "NHSRplotthedots_intro.html"))
    text = " ".join(c.text for c in index.document_chunks(html.doc_id))
    assert not [s for s in INTRO_NAV_STRINGS if s in text], "navigation reached the chunks"


@pytest.mark.slow
@pytest.mark.skipif(tesseract_missing() is not None, reason=str(tesseract_missing()))
def test_scanned_page_is_searchable_after_ocr_and_its_citation_says_so(library, shared_docs):
    from rag.answer.citations import build_citation
    from rag.app.view import location
    from rag.cli.ask import _where
    from rag.types import ScoredChunk

    _, index, _, _ = library
    scan = index.document_by_source(str(shared_docs / SCANS[0]))
    assert scan is not None and scan.meta["ocr_pages"] == [1], "the Wikipedia scan was read with OCR"
    found = index.keyword_search("electronic conversion of images of typed handwritten or printed text", 5)
    hits = [c for c in index.get_chunks([cid for cid, _ in found]) if c.doc_id == scan.doc_id]
    assert hits, "keyword search reaches the words Tesseract read"
    chunk = hits[0]
    assert chunk.meta.get("ocr") is True and chunk.page == 1
    at = chunk.text.index("Optical character recognition")
    citation = build_citation(1, ScoredChunk(chunk, 1.0), (at, len(chunk.text)), (at, at + 30), 1.0)
    assert citation.ocr and "OCR text" in location(citation) and "OCR text" in _where(citation)
    typed = index.document_by_source(str(shared_docs / DISSERTATION))
    assert not any(c.meta.get("ocr") for c in index.document_chunks(typed.doc_id)), "text layers are not OCR"


@pytest.mark.slow
def test_reingesting_unchanged_files_changes_nothing_and_parses_nothing(library, shared_docs, embedder):
    settings, index, first, _ = library
    before = (index.stats(), sorted(r.doc_id for r in index.documents()))
    events: list[IngestEvent] = []
    report = ingest_paths([shared_docs], index, embedder, settings, progress=events.append)
    added, _ = expected_outcome(shared_docs)
    assert {Path(s).name for s, _, _ in report.unchanged} == added, report
    assert not report.added and not report.updated and report.n_chunks_added == 0, report
    parsed = {Path(e.path).name for e in events if e.stage in {"loading", "embedding"}}
    assert parsed == set(EXPECTED_FAILURES), f"only the files that failed before are read again: {parsed}"
    assert {Path(s).name for s, _ in report.failed} == set(EXPECTED_FAILURES)
    assert (index.stats(), sorted(r.doc_id for r in index.documents())) == before


def test_changed_file_replaces_its_old_version(settings, embedder, tmp_path):
    path = tmp_path / "flow.md"
    path.write_text(
        "# Flow\n\n" + note("Discharge before noon frees beds for the afternoon."), encoding="utf-8"
    )
    with Index.open(settings) as index:
        first = ingest_paths([path], index, embedder, settings)
        old_id = first.added[0][1]
        path.write_text(
            "# Flow\n\n" + note("Criteria-led discharge lets nurses discharge."), encoding="utf-8"
        )
        second = ingest_paths([path], index, embedder, settings)
        assert [s for s, _, _ in second.updated] == [str(path)] and not second.added, second
        new_id = second.updated[0][1]
        assert new_id != old_id and index.get_document(old_id) is None, "the old version is gone"
        assert [r.doc_id for r in index.documents()] == [new_id]
        assert all("Criteria-led" in c.text for c in index.document_chunks(new_id))
        assert index.verify() == []


def test_same_content_under_another_path_is_a_duplicate(settings, embedder, tmp_path):
    text = "# Huddles\n\n" + note("A ten-minute huddle at the start of each shift.")
    (tmp_path / "a.md").write_text(text, encoding="utf-8")
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "b.md").write_text(text, encoding="utf-8")
    with Index.open(settings) as index:
        report = ingest_paths([tmp_path], index, embedder, settings)
        assert [Path(s).name for s, _, _ in report.added] == ["a.md"], report
        assert [Path(s).name for s, _, _ in report.unchanged] == ["b.md"], report
        assert report.notes[str(tmp_path / "copy" / "b.md")] == f"duplicate of {tmp_path / 'a.md'}"
        assert index.stats().documents == 1


def test_every_bad_input_is_reported_and_the_rest_ingested(settings, embedder, tmp_path):
    settings = settings.model_copy(
        update={"ingest": IngestSettings(max_file_mb=0.05, max_docx_expanded_mb=2)}
    )
    existing = tmp_path / "existing.md"
    existing.write_text("# Existing\n\n" + note("Already in the library before the batch."), encoding="utf-8")
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "good.md").write_text("# Good\n\n" + note("Run charts show change over time."), encoding="utf-8")
    (batch / "latin1.txt").write_bytes(
        note("Café naïve résumé – the ward’s “huddle” board.").encode("cp1252")
    )
    write_docx(batch / "flow.docx")
    write_pdf(batch / "report.pdf", [["Page one of a small report."], ["Page two of it."]])
    (batch / "corrupt.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(2000))
    encrypt_pdf(write_pdf(tmp_path / "plain.pdf", [["Locked text."]]), batch / "encrypted.pdf", "pw")
    blank_pdf(batch / "scan.pdf")
    (batch / "empty.txt").write_bytes(b"")
    (batch / "huge.txt").write_text("x " * 40_000, encoding="utf-8")  # 80 KB > 0.05 MB
    (batch / "notzip.docx").write_bytes(b"not a zip archive")
    zip_bomb_docx(batch / "bomb.docx", expanded_mb=8)
    (batch / "loop.md").symlink_to(batch / "loop.md")
    (batch / "notes.rtf").write_text("{\\rtf1 notes}", encoding="utf-8")
    (batch / ".hidden.md").write_text("# Hidden\n\nIgnored.", encoding="utf-8")
    missing = tmp_path / "missing.pdf"
    unsupported = tmp_path / "table.numbers"
    unsupported.write_bytes(b"PK")
    (batch / "broken.xlsx").write_bytes(b"PK")

    with Index.open(settings) as index:
        ingest_paths([existing], index, embedder, settings)
        kept = {(r.doc_id, r.n_chunks) for r in index.documents()}
        report = ingest_paths([batch, missing, unsupported], index, embedder, settings)

        reasons = {Path(source).name: reason for source, reason in report.failed}
        expected = {
            "corrupt.pdf": "corrupt PDF",
            "encrypted.pdf": "encrypted PDF",
            "scan.pdf": "no text layer and no images: the pages are blank",
            "empty.txt": "empty file",
            "huge.txt": "over the 0.05 MB limit",
            "notzip.docx": "not a valid DOCX",
            "bomb.docx": "possible zip bomb",
            "loop.md": "symbolic link loop",
            "missing.pdf": "no such file or directory",
            "table.numbers": "unsupported file type .numbers",
            "broken.xlsx": "not a valid XLSX",
        }
        assert set(reasons) == set(expected), reasons
        for name, reason in expected.items():
            assert reason in reasons[name], f"{name}: {reasons[name]!r}"
            assert "\n" not in reasons[name], f"{name}: the reason is one line"
        assert sorted(Path(s).name for s, _, _ in report.added) == [
            "flow.docx",
            "good.md",
            "latin1.txt",
            "report.pdf",
        ]
        assert [Path(s).name for s, _ in report.skipped] == ["notes.rtf"], "hidden files are not even listed"
        assert kept <= {(r.doc_id, r.n_chunks) for r in index.documents()}, (
            "the existing document is untouched"
        )
        assert index.stats().documents == 5 and index.verify() == []
        latin = next(d for s, d, _ in report.added if s.endswith("latin1.txt"))
        assert "Café naïve résumé" in index.document_text(latin), "cp1252 decoded"


def test_ingest_works_with_networking_disabled(settings, tmp_path, monkeypatch):
    """Offline proof: no socket may connect anywhere but a local (AF_UNIX) one, model load included."""
    real_connect = socket.socket.connect

    def guarded_connect(self, address):
        if self.family == socket.AF_UNIX:
            return real_connect(self, address)
        raise OSError(f"network access attempted during ingestion: {address!r}")

    def no_create_connection(address, *args, **kwargs):
        raise OSError(f"network access attempted during ingestion: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "create_connection", no_create_connection)
    with pytest.raises(OSError, match="network access attempted"):
        socket.create_connection(("example.org", 80))  # the guard itself works

    from rag.index.embedding import SentenceTransformerEmbedder

    (tmp_path / "doc.md").write_text(
        "# Offline\n\n" + note("Everything runs on this machine."), encoding="utf-8"
    )
    write_pdf(tmp_path / "doc.pdf", [["A PDF page read offline."]])
    with Index.open(settings) as index:
        report = ingest_paths([tmp_path], index, SentenceTransformerEmbedder(settings.embedding), settings)
        assert report.ok and len(report.added) == 2, report
        assert index.keyword_search("offline", 2), "the index answers offline too"


def test_the_index_folder_is_never_ingested(settings, embedder, tmp_path):
    assert settings.index.dir.parent == tmp_path, "the index lives inside the folder being ingested"
    with Index.open(settings) as index:
        report = ingest_paths([tmp_path], index, embedder, settings)
    assert isinstance(report, IngestReport) and report.ok and report.n_chunks_added == 0
    assert not (report.added or report.failed or report.skipped), report


def test_changeguideignore_skips_listed_files_inside_folders(tmp_path):
    """A folder's .changeguideignore globs are skipped (and listed), but a file named outright is not."""
    from rag.ingest.pipeline import IngestReport, discover

    folder = tmp_path / "library"
    (folder / "sub").mkdir(parents=True)
    (folder / ".changeguideignore").write_text("# catalogue\nREADME.md\ndraft-*.md\n", encoding="utf-8")
    for name in ("README.md", "brief.md", "draft-1.md", "sub/README.md"):
        (folder / name).write_text("# T\n\nText.", encoding="utf-8")

    report = IngestReport()
    found = discover([folder], report)
    assert sorted(p.relative_to(folder).as_posix() for p in found) == ["brief.md", "sub/README.md"], (
        "globs apply to the folder holding the ignore file only"
    )
    skipped = {Path(s).name: why for s, why in report.skipped}
    assert skipped == {
        "README.md": "ignored by .changeguideignore",
        "draft-1.md": "ignored by .changeguideignore",
    }

    named = discover([folder / "README.md"], IngestReport())
    assert [p.name for p in named] == ["README.md"], "a file named on the command line is always taken"


def test_changeguideignore_skips_a_named_subfolder_in_one_line(tmp_path):
    """A pattern ending in "/" passes over a subfolder whole (the corpus's verification records)."""
    from rag.ingest.pipeline import IngestReport, discover

    folder = tmp_path / "library"
    (folder / "verification").mkdir(parents=True)
    (folder / "notes" / "verification").mkdir(parents=True)
    (folder / ".changeguideignore").write_text("verification/\nVERIFICATION.md\n", encoding="utf-8")
    for name in (
        "brief.md",
        "VERIFICATION.md",
        "verification/brief.txt",
        "verification/b.md",
        "notes/verification/c.md",
    ):
        (folder / name).write_text("# T\n\nText.", encoding="utf-8")

    report = IngestReport()
    found = discover([folder], report)
    assert sorted(p.relative_to(folder).as_posix() for p in found) == [
        "brief.md",
        "notes/verification/c.md",
    ], "the pattern names a subfolder of the folder holding the ignore file only"
    assert sorted((Path(s).relative_to(folder).as_posix(), why) for s, why in report.skipped) == [
        ("VERIFICATION.md", "ignored by .changeguideignore"),
        ("verification", "folder ignored by .changeguideignore"),
    ], "the folder is one report line, its files none"
