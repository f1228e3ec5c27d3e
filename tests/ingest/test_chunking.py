"""Chunking: verbatim spans, token bounds, overlap, boundaries, and page/section placement."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import ChunkingSettings, Settings
from rag.errors import IngestError
from rag.ingest.chunking import chunk_document
from rag.ingest.loaders import loader_for
from rag.ingest.tokens import count_tokens
from rag.types import Chunk, SourceDocument, content_hash

SETTINGS = ChunkingSettings()
# Atoms are counted one by one, and a merge can tokenise a few characters differently at the seams.
TOKEN_SLACK = 8


def load(path: Path) -> SourceDocument:
    loader = loader_for(path)
    assert loader is not None
    return loader(path, Settings())


@pytest.fixture(scope="module")
def shared_chunked(shared_docs) -> dict[str, tuple[SourceDocument, list[Chunk]]]:
    """Every shared document that loads, chunked with the default settings."""
    out = {}
    for path in sorted(shared_docs.iterdir()):
        if loader_for(path) is None:
            continue
        try:
            doc = load(path)
        except IngestError:
            continue  # the footer template has no main text; the loader tests cover that
        out[path.name] = (doc, chunk_document(doc, SETTINGS))
    assert len(out) >= 12, f"expected the shared library to load: {sorted(out)}"
    return out


def test_chunks_are_verbatim_bounded_and_cover_the_text(shared_chunked):
    for name, (doc, chunks) in shared_chunked.items():
        assert chunks, f"{name}: no chunks"
        for chunk in chunks:
            assert chunk.text == doc.text[chunk.start : chunk.end], (
                f"{name}: chunk {chunk.ordinal} not verbatim"
            )
            assert chunk.text == chunk.text.strip(), f"{name}: chunk {chunk.ordinal} carries edge whitespace"
            tokens = count_tokens(chunk.text)
            assert tokens <= SETTINGS.chunk_tokens + TOKEN_SLACK, (
                f"{name}: chunk {chunk.ordinal} has {tokens}"
            )
            assert chunk.id == content_hash(doc.doc_id, str(chunk.start), str(chunk.end), chunk.text)
            assert chunk.doc_id == doc.doc_id
        assert [c.ordinal for c in chunks] == list(range(len(chunks)))
        assert len({c.id for c in chunks}) == len(chunks), f"{name}: duplicate chunk ids"
        assert all(a.start < b.start and a.end < b.end for a, b in zip(chunks, chunks[1:], strict=False))
        covered = bytearray(len(doc.text))
        for chunk in chunks:
            covered[chunk.start : chunk.end] = b"\1" * (chunk.end - chunk.start)
        missed = [i for i, ch in enumerate(doc.text) if not covered[i] and not ch.isspace()]
        assert not missed, f"{name}: text outside every chunk near {doc.text[missed[0] : missed[0] + 40]!r}"


def test_chunk_sizes_are_mostly_near_the_target(shared_chunked):
    doc, chunks = shared_chunked["drcjar_learning-from-patient-safety-incidents_Dissertation.pdf"]
    sizes = sorted(count_tokens(c.text) for c in chunks)
    median = sizes[len(sizes) // 2]
    assert 0.6 * SETTINGS.chunk_tokens <= median <= SETTINGS.chunk_tokens, f"median {median} tokens"


def test_consecutive_chunks_overlap_within_a_section(shared_chunked):
    _, chunks = shared_chunked["drcjar_learning-from-patient-safety-incidents_Dissertation.pdf"]
    overlaps = [a.end - b.start for a, b in zip(chunks, chunks[1:], strict=False) if a.section == b.section]
    assert overlaps and sum(o > 0 for o in overlaps) >= len(overlaps) // 2, "most neighbours share text"
    shared_tokens = [
        count_tokens(a.text[b.start - a.start :])
        for a, b in zip(chunks, chunks[1:], strict=False)
        if b.start < a.end
    ]
    assert max(shared_tokens) <= SETTINGS.overlap_tokens + TOKEN_SLACK, (
        f"overlap too large: {max(shared_tokens)}"
    )


def test_dissertation_phrase_chunk_is_on_page_42(shared_chunked):
    doc, chunks = shared_chunked["drcjar_learning-from-patient-safety-incidents_Dissertation.pdf"]
    phrase = "Ethics and data storage statement"
    hits = [c for c in chunks if phrase in c.text]
    body = [c for c in hits if c.page != 8]  # page 8 is the table of contents
    assert len(body) >= 1 and all(c.page == 42 and c.page_end == 42 for c in body), (
        f"{[(c.page, c.page_end) for c in hits]}"
    )
    assert len(hits) - len(body) == 1, "one more hit: the contents entry"


def test_cdc_phrase_chunk_covers_page_20(shared_chunked):
    doc, chunks = shared_chunked["cdc_guide-infection-prevention-outpatient-settings_v2.3_2016.pdf"]
    phrase = "Infection Control Domains for Gap Assessment"
    pages = {}
    for chunk in chunks:
        if phrase in chunk.text:
            at = chunk.start + chunk.text.index(phrase)
            page = next(p.page for p in doc.pages if p.start <= at < p.end)
            pages[chunk.ordinal] = (chunk.page, chunk.page_end, page)
    assert any(page == 20 and first <= 20 <= last for first, last, page in pages.values()), pages


def test_chunk_meta_for_display_and_filters(shared_chunked):
    doc, chunks = shared_chunked["nhsr-blog_introduction-to-funnel-plots.md"]
    meta = chunks[0].meta
    assert meta == {
        "title": "Introduction to Funnel Plots",
        "source": doc.source,
        "format": "markdown",
        "topics": ["Statistics", "ggplot2", "base R"],
        "year": 2019,
    }
    assert all(c.page is None and c.page_end is None for c in chunks), "no pages outside PDFs"


def test_sections_start_new_chunks(tmp_path):
    paragraph = "Teams tested one change at a time and measured the effect each week. " * 12
    body = "\n\n".join(f"## Part {i}\n\n{paragraph}\n\n{paragraph}" for i in range(1, 5))
    path = tmp_path / "parts.md"
    path.write_text(f"# Guide\n\n{body}\n", encoding="utf-8")
    doc = load(path)
    chunks = chunk_document(doc, SETTINGS)
    assert chunks[0].text.startswith("# Guide\n\n## Part 1"), "a bare heading joins the section after it"
    for i in range(2, 5):
        heading_at = doc.text.index(f"## Part {i}")
        starters = [c for c in chunks if c.start == heading_at]
        assert starters, f"no chunk starts at the heading of part {i}"
        assert starters[0].section == f"Guide > Part {i}"
        before = [c for c in chunks if c.start < heading_at < c.end]
        assert not before, f"a chunk runs across the heading of part {i}"


def test_cuts_prefer_paragraph_then_sentence_boundaries(tmp_path):
    sentences = [f"Sentence {i} says something useful about discharge planning." for i in range(200)]
    paragraphs = [" ".join(sentences[i : i + 10]) for i in range(0, 200, 10)]
    path = tmp_path / "p.txt"
    path.write_text("\n\n".join(paragraphs), encoding="utf-8")
    doc = load(path)
    chunks = chunk_document(doc, SETTINGS)
    assert len(chunks) > 3
    for chunk in chunks[:-1]:
        assert chunk.text.endswith("."), f"chunk {chunk.ordinal} ends mid-sentence: {chunk.text[-30:]!r}"
        nxt = doc.text[chunk.end : chunk.end + 2]
        assert nxt == "\n\n", f"chunk {chunk.ordinal} should end at a paragraph break, not {nxt!r}"


def test_text_without_breaks_is_split_by_tokens(tmp_path):
    path = tmp_path / "run.txt"
    path.write_text("x" * 20 + "-".join(["abcdefgh"] * 2000), encoding="utf-8")
    doc = load(path)
    chunks = chunk_document(doc, SETTINGS)
    assert len(chunks) > 5 and "".join(c.text for c in chunks[:1]) == doc.text[: chunks[0].end]
    assert all(count_tokens(c.text) <= SETTINGS.chunk_tokens + TOKEN_SLACK for c in chunks)


def test_smaller_target_makes_more_chunks(shared_chunked):
    doc, chunks = shared_chunked["nhsr-blog_a-run-chart-is-not-a-run-chart-is-not-a-run-chart.md"]
    small = chunk_document(doc, ChunkingSettings(chunk_tokens=120, overlap_tokens=20))
    assert len(small) > 2 * len(chunks) - 2, (len(small), len(chunks))
    assert all(count_tokens(c.text) <= 120 + TOKEN_SLACK for c in small)


def test_zero_overlap_gives_disjoint_chunks(shared_chunked):
    doc, _ = shared_chunked["nhsr-blog_spc-charting-in-r.md"]
    chunks = chunk_document(doc, ChunkingSettings(chunk_tokens=150, overlap_tokens=0))
    assert all(a.end <= b.start for a, b in zip(chunks, chunks[1:], strict=False))
