"""The BM25 keyword index: stemming, stopwords, document masks, saving and loading."""

from __future__ import annotations

from rag.index.keyword import KeywordIndex

CHUNKS = [
    ("c0", "d0", "Infection control domains for gap assessment."),
    ("c1", "d0", "Hand hygiene audits on every ward."),
    ("c2", "d1", "Assessing infections in care homes."),
    ("c3", "d2", "The of and"),
    ("c4", "d2", "Lean thinking removes waste from pathways."),
] + [(f"x{i}", "d3", f"Infection report number {i} for the gap analysis.") for i in range(30)]


def _build(generation: int = 7) -> KeywordIndex:
    ids, docs, texts = zip(*CHUNKS, strict=True)
    return KeywordIndex.build(ids, docs, texts, generation)


def test_stemmed_terms_match_and_stopwords_do_not():
    index = _build()
    hits = dict(index.search("assessed infections", 40))
    assert {"c0", "c2"} <= set(hits), f"'assessed'/'infections' should match 'assessment'/'infection': {hits}"
    assert "c3" not in hits and "c4" not in hits, "chunks sharing no term are not hits"
    assert index.search("the and of", 5) == [], "a stopword-only query matches nothing"
    assert index.search("zebra", 5) == [], "an unknown word matches nothing"


def test_results_are_best_first_and_capped_at_n():
    hits = _build().search("infection gap", 5)
    assert len(hits) == 5, hits
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True), hits


def test_a_selective_document_filter_still_returns_its_best_hits():
    index = _build()
    query = "infection report for the gap analysis"
    unfiltered = [cid for cid, _ in index.search(query, 3)]
    assert all(cid.startswith("x") for cid in unfiltered), f"the 30 reports crowd out the rest: {unfiltered}"
    hits = index.search(query, 3, {"d1", "d0"})
    assert {cid for cid, _ in hits} == {"c0", "c2"}, f"the mask finds the filtered documents' hits: {hits}"
    assert index.search("infection", 3, {"unknown"}) == [] and index.search("infection", 3, set()) == []


def test_save_and_load_round_trip(tmp_path):
    index = _build(generation=3)
    index.save(tmp_path / "bm25")
    index.save(tmp_path / "bm25")  # replacing an existing save works too
    loaded = KeywordIndex.load(tmp_path / "bm25")
    assert loaded is not None and loaded.generation == 3 and loaded.chunk_ids == index.chunk_ids
    assert loaded.search("hand hygiene", 2) == index.search("hand hygiene", 2)
    assert not (tmp_path / "bm25.new").exists() and not (tmp_path / "bm25.old").exists(), "no leftovers"


def test_missing_or_torn_saves_load_as_none(tmp_path):
    assert KeywordIndex.load(tmp_path / "absent") is None
    _build().save(tmp_path / "bm25")
    (tmp_path / "bm25" / "ids.json").write_text('{"generation": 1, "chunk_ids": ["c0"]', encoding="utf-8")
    assert KeywordIndex.load(tmp_path / "bm25") is None, "a torn ids file means rebuild"


def test_an_empty_index_saves_loads_and_finds_nothing(tmp_path):
    empty = KeywordIndex.build([], [], [], generation=0)
    assert empty.search("anything", 5) == []
    empty.save(tmp_path / "bm25")
    loaded = KeywordIndex.load(tmp_path / "bm25")
    assert loaded is not None and len(loaded) == 0 and loaded.search("anything", 5) == []


def _paragraph_index(names: list[str]) -> tuple[KeywordIndex, dict[str, str]]:
    """A keyword index of the starter briefs `names`, one chunk per paragraph, and their titles."""
    from tests.conftest import CORPUS

    ids, docs, texts, titles = [], [], [], {}
    for name in names:
        text = (CORPUS / name).read_text(encoding="utf-8")
        titles[name] = next(line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("# "))
        for i, paragraph in enumerate(p for p in text.split("\n\n") if p.strip()):
            ids.append(f"{name}#{i}")
            docs.append(name)
            texts.append(paragraph)
    return KeywordIndex.build(ids, docs, texts, 1), titles


def test_scores_over_the_scale_read_the_same_in_a_one_document_library_as_in_the_whole():
    # In a library of run charts alone, "run" and "chart" are everywhere and weigh little, so the
    # raw score of the same paragraph for the same question is a fraction of the whole library's.
    from tests.conftest import CORPUS

    question = "How many points make a shift on a run chart?"
    small, small_titles = _paragraph_index(["run-charts.md"])
    whole, whole_titles = _paragraph_index(sorted(p.name for p in CORPUS.glob("*.md")))
    (chunk, raw_small), *_ = small.search(question, 1)
    raw_whole = dict(whole.search(question, 200))[chunk]
    assert raw_small < 0.5 * raw_whole, (raw_small, raw_whole)
    relative = (raw_small / small.scale(small_titles.get)) / (raw_whole / whole.scale(whole_titles.get))
    assert 0.67 < relative < 1.5, relative


def test_the_scale_is_one_without_titles_that_match():
    index = _build()
    assert index.scale(lambda doc_id: None) == 1.0
    assert index.scale({"d0": "zebra crossings"}.get) == 1.0
    assert index.scale({"d1": "infections in care homes"}.get) > 0
