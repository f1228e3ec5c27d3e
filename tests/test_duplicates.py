"""Near-duplicate passages across documents: detected at ingest, collapsed in answers, listed, removed.

Real documents: two "annual reports" built from starter-library briefs that share one brief's
text (a few sentences changed in the later year), and a shared NHS-R blog post with a copy
that differs in three sentences. Real model, real Chroma in tmp_path.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
from pathlib import Path

import pytest

from rag.answer.serialize import answer_to_json
from rag.cli import main
from rag.cli.ask import print_answer
from rag.config import Settings
from rag.engine import ChangeGuide
from rag.index.duplicates import containment
from rag.index.store import REGISTRY, Index
from tests.conftest import CORPUS

FUNNEL = "nhsr-blog_introduction-to-funnel-plots.md"
# Sentences of the later report rewritten, as a trust updates last year's text.
CHANGES = {
    "Psychological safety is not about being nice": "Psychological safety is never about being nice",
    "In health care, psychological safety matters": "In our trust, psychological safety matters",
}


def body(name: str) -> str:
    """A brief's text without its YAML front matter and title line."""
    text = (CORPUS / name).read_text(encoding="utf-8")
    text = text.split("\n---\n", 1)[1] if text.startswith("---") else text
    return re.sub(r"^# .*\n", "", text.lstrip(), count=1)


def write_library(folder: Path, shared_docs: Path) -> dict[str, Path]:
    folder.mkdir()
    safety = body("psychological-safety.md")
    later = safety
    for old, new in CHANGES.items():
        assert old in later, old
        later = later.replace(old, new)
    paths = {
        "2023": folder / "annual-report-2023.md",
        "2024": folder / "annual-report-2024.md",
        "funnel": folder / FUNNEL,
        "funnel-copy": folder / "funnel-plots-copy.md",
    }
    paths["2023"].write_text(f"# Annual report 2023\n\n{safety}\n\n{body('run-charts.md')}", encoding="utf-8")
    paths["2024"].write_text(
        f"# Annual report 2024\n\n{later}\n\n{body('kotter-eight-steps.md')}", encoding="utf-8"
    )
    funnel = (shared_docs / FUNNEL).read_text(encoding="utf-8")
    paths["funnel"].write_text(funnel, encoding="utf-8")
    copy = funnel.replace("Funnel plots", "Funnel charts", 1).replace("overdispersion", "over-dispersion", 2)
    assert copy != funnel
    paths["funnel-copy"].write_text(copy + "\n\nThis copy was circulated to the board.\n", encoding="utf-8")
    return paths


@pytest.fixture(scope="module")
def library(tmp_path_factory, shared_docs, embedder):
    folder = tmp_path_factory.mktemp("dups") / "library"
    paths = write_library(folder, shared_docs)
    settings = Settings().with_index_dir(folder.parent / "index")
    engine = ChangeGuide(settings, embedder=embedder)
    report = engine.ingest([folder])
    assert report.ok and len(report.added) == 4, report
    yield engine, paths, report
    engine.close()


def doc_id(engine: ChangeGuide, path: Path) -> str:
    record = engine.index.document_by_source(str(path.resolve()))
    assert record is not None, path
    return record.doc_id


def test_shared_passages_are_detected_and_nothing_else(library):
    engine, paths, report = library
    index = engine.index
    ids = {key: doc_id(engine, path) for key, path in paths.items()}
    shares = index.shared_shares()
    r23, r24 = shares[ids["2023"]], shares[ids["2024"]]
    assert r23.documents == (ids["2024"],) and r24.documents == (ids["2023"],), (
        "the reports share with each other only"
    )
    assert 0.25 <= r23.share <= 0.75 and 0.25 <= r24.share <= 0.75, (r23, r24)
    copy = shares[ids["funnel-copy"]]
    assert copy.documents == (ids["funnel"],) and copy.share >= 0.8, copy
    # Every link of the 2023 report is a chunk of its psychological-safety half, never of the run-charts half.
    chunks = index.document_chunks(ids["2023"])
    split = index.document_text(ids["2023"]).index(body("run-charts.md")[:80])
    links = index.duplicate_links([c.id for c in chunks])
    assert links, "links stored"
    for chunk in chunks:
        if chunk.id in links:
            assert chunk.start < split, f"a run-charts chunk was linked: {chunk.text[:80]!r}"
            for link in links[chunk.id]:
                other = index.get_chunks([link.other_id])[0]
                assert containment(chunk.text, other.text) > 0.4, "a linked pair really shares text"
    unlinked_safety = [c for c in chunks if c.end < split and c.id not in links]
    assert len(unlinked_safety) <= 1, "the shared half is found (boundary chunks may fall short)"
    # The ingestion summary says so, per file.
    details = report.details[str(paths["2024"].resolve())]
    assert details.shared_chunks and details.shared_with == ("Annual report 2023",), details
    assert any("shared with 1 document (Annual report 2023)" in n for n in details.notes()), details.notes()


def test_answer_collapses_the_repeated_passage_and_says_where_else_it_is(library, capsys):
    engine, paths, _ = library
    ids = {key: doc_id(engine, path) for key, path in paths.items()}
    answer = engine.ask("What is psychological safety in a team?")
    assert not answer.abstained, answer.text
    retrieved = [r.chunk.id for r in answer.retrieved]
    links = engine.index.duplicate_links(retrieved)
    pairs = [(a, x.other_id) for a in retrieved for x in links.get(a, ()) if x.other_id in retrieved]
    assert not pairs, f"near-duplicate passages both handed to the answerer: {pairs}"
    cited_docs = {c.doc_id for c in answer.citations}
    assert {ids["2023"], ids["2024"]} & cited_docs, answer.citations
    assert not {ids["2023"], ids["2024"]} <= cited_docs or all(
        containment(a.excerpt, b.excerpt) < 0.8
        for a in answer.citations
        for b in answer.citations
        if a.doc_id != b.doc_id
    ), "the same quote cited from both reports"
    report_citations = [c for c in answer.citations if c.doc_id in (ids["2023"], ids["2024"])]
    with_also = [c for c in report_citations if c.also_in]
    assert with_also, [(c.n, c.doc_id, c.excerpt[:60]) for c in report_citations]
    for citation in with_also:
        other = ids["2024"] if citation.doc_id == ids["2023"] else ids["2023"]
        assert [r.doc_id for r in citation.also_in] == [other], citation.also_in
        assert containment(citation.excerpt, engine.index.document_text(other)) >= 0.8, (
            "the quote is there too"
        )
    data = answer_to_json(answer)
    shown = next(c for c in data["citations"] if c["also_in"])
    assert shown["also_in"][0]["title"].startswith("Annual report 20"), shown["also_in"]
    print_answer(answer, sys.stdout)
    assert "also in: Annual report 20" in capsys.readouterr().out


def test_docs_list_shows_the_shared_share(library, capsys):
    engine, paths, _ = library
    index_dir = str(engine.settings.index.dir)
    assert main(["docs", "list", "--json", "--index", index_dir]) == 0
    listing = {Path(r["source"]).name: r for r in json.loads(capsys.readouterr().out)}
    shared = listing["annual-report-2023.md"]["shared"]
    assert 0.25 <= shared["share"] <= 0.75 and shared["documents"] == [doc_id(engine, paths["2024"])], shared
    assert listing[FUNNEL]["shared"]["documents"] == [doc_id(engine, paths["funnel-copy"])]
    assert main(["docs", "list", "--index", index_dir]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\d+% shared with 1 document: Annual report 2024", out), out


def test_removal_and_reopening_keep_links_consistent(tmp_path, shared_docs, embedder):
    paths = write_library(tmp_path / "library", shared_docs)
    settings = Settings().with_index_dir(tmp_path / "index")
    engine = ChangeGuide(settings, embedder=embedder)
    try:
        engine.ingest([paths["2023"], paths["funnel"]])
        assert engine.index.shared_shares() == {}, "nothing shared yet"
        engine.ingest([paths["2024"]])
        r23, r24 = doc_id(engine, paths["2023"]), doc_id(engine, paths["2024"])
        assert set(engine.index.shared_shares()) == {r23, r24}
        engine.remove(r24)
        assert engine.index.shared_shares() == {}, "removing a document removes its links"
        chunks = [c.id for c in engine.index.document_chunks(r23)]
        assert engine.index.duplicate_links(chunks) == {}
        assert engine.index.verify() == []
    finally:
        engine.close()
    with sqlite3.connect(settings.index.dir / REGISTRY) as db:
        assert db.execute("SELECT COUNT(*) FROM duplicates").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM signatures WHERE doc_id = ?", (r24,)).fetchone()[0] == 0
    # A reopened index rebuilds its LSH from the stored signatures: a new copy is linked again.
    engine = ChangeGuide(settings, embedder=embedder)
    try:
        engine.ingest([paths["2024"], paths["funnel-copy"]])
        shares = engine.index.shared_shares()
        assert shares[r23].documents == (r24,) and doc_id(engine, paths["funnel"]) in shares
    finally:
        engine.close()


def test_an_index_without_signatures_is_upgraded_on_open(tmp_path, shared_docs, embedder):
    paths = write_library(tmp_path / "library", shared_docs)
    settings = Settings().with_index_dir(tmp_path / "index")
    with Index.open(settings) as index:
        from rag.ingest.pipeline import ingest_paths

        ingest_paths([paths["funnel"], paths["funnel-copy"]], index, embedder, settings)
        before = index.shared_shares()
    assert before, "the copy is linked"
    with sqlite3.connect(settings.index.dir / REGISTRY) as db:  # as an index made before this feature
        db.execute("DELETE FROM duplicates")
        db.execute("DELETE FROM signatures")
    with Index.open(settings) as index:
        assert index.shared_shares() == before, "signatures and links rebuilt from the stored chunks"
        assert index.verify() == []
