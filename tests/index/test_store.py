"""`Index`: the registry, Chroma and BM25 kept in agreement, searched, filtered and reopened."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from rag.config import ChunkingSettings, Settings
from rag.errors import FingerprintMismatchError, IndexCorruptError, IndexNotFoundError
from rag.index import reads
from rag.index.store import Index, IndexStats
from rag.types import Filters


@pytest.fixture()
def index(settings):
    index = Index.open(settings)
    yield index
    index.close()


@pytest.fixture()
def filled(index, library):
    with index.batch():
        for doc in library.values():
            index.add_document(doc.doc, doc.chunks, doc.vectors)
    return index


def test_added_documents_reach_all_three_stores(filled, library, settings, disk_state, stores_agree):
    ethics = library["ethics"]
    record = filled.get_document(ethics.id)
    assert record is not None, "the added document is in the registry"
    assert (record.title, record.source, record.format, record.n_chunks) == (
        "ethics.txt",
        "/library/ethics.txt",
        "pdf",
        2,
    )
    assert record.meta["file_sha256"] == "e" * 64 and record.page_count == 2 and record.ingested_at, record
    assert [d.doc_id for d in filled.documents()] == [d.id for d in library.values()], (
        "documents in order added"
    )
    assert filled.document_by_source("/library/ethics.txt") == record
    assert filled.document_text(ethics.id) == ethics.doc.text
    assert filled.source_document(ethics.id) == ethics.doc.__class__(
        **{**ethics.doc.__dict__, "ingested_at": record.ingested_at}
    ), "the stored document round-trips"
    assert filled.document_chunks(ethics.id) == list(ethics.chunks)
    stats = filled.stats()
    assert isinstance(stats, IndexStats)
    assert (stats.documents, stats.chunks, stats.fingerprint) == (4, 8, settings.fingerprint()), stats
    assert stats.size_bytes > 0 and stats.path == str(settings.index.dir.resolve()), stats
    filled.close()
    stores_agree(disk_state(settings.index.dir))


def test_stats_skips_a_file_a_writer_removes_mid_walk(filled, monkeypatch):
    """`stats` walks the folder without the lock: a file gone between listing and stat is not counted."""
    whole = filled.stats().size_bytes
    real_stat = os.stat
    vanished: list[str] = []

    def stat(path, *args, **kwargs):
        if not vanished and os.path.basename(path) == "registry.sqlite3":
            vanished.append(path)
            raise FileNotFoundError(2, "No such file or directory", path)
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(reads.os, "stat", stat)
    partial = filled.stats().size_bytes
    assert vanished, "the registry file was stat'ed"
    assert partial == whole - real_stat(vanished[0]).st_size


def test_get_chunks_and_vectors_keep_the_requested_order(filled, library):
    wanted = [library["kotter"].chunks[1], library["ethics"].chunks[0], library["lean"].chunks[1]]
    ids = [c.id for c in wanted]
    assert filled.get_chunks(ids) == wanted, "chunks come back as added, in the order asked"
    expected = np.stack(
        [library["kotter"].vectors[1], library["ethics"].vectors[0], library["lean"].vectors[1]]
    )
    got = filled.chunk_vectors(ids)
    assert np.allclose(got, expected, atol=1e-5), "vectors in the order asked"
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5), "unit rows"
    with pytest.raises(KeyError, match="nope"):
        filled.get_chunks([ids[0], "nope"])
    with pytest.raises(KeyError, match="nope"):
        filled.chunk_vectors(["nope"])
    with pytest.raises(KeyError):
        filled.document_text("nope")


def test_dense_and_keyword_search_find_the_right_chunk(filled, library, embedder):
    query = "How were the interview recordings stored?"
    dense = filled.dense_search(embedder.embed_batch([query])[0], 3)
    assert dense[0][0] == library["ethics"].chunks[0].id, (
        f"dense search should rank the storage chunk first: {dense}"
    )
    assert len(dense) == 3 and all(-1.0 <= s <= 1.0 for _, s in dense), dense
    assert [s for _, s in dense] == sorted((s for _, s in dense), reverse=True), "best first"
    keyword = filled.keyword_search("infections assessed on the ward", 3)
    assert keyword[0][0] in library["infection"].chunk_ids, (
        f"stemmed BM25 should find the infection chunks: {keyword}"
    )
    assert all(score > 0 for _, score in keyword), keyword
    assert filled.keyword_search("the and of", 5) == [], "a query of stopwords matches nothing"


def test_document_filters_restrict_both_searches(filled, library, embedder):
    only = {library["kotter"].id}
    vector = embedder.embed_batch(["interview recordings stored on an encrypted drive"])[0]
    dense = filled.dense_search(vector, 10, only)
    assert {cid for cid, _ in dense} == set(library["kotter"].chunk_ids), (
        f"only kotter chunks, all of them: {dense}"
    )
    keyword = filled.keyword_search("urgency momentum culture steps", 10, only)
    assert {cid for cid, _ in keyword} == set(library["kotter"].chunk_ids), keyword
    assert filled.keyword_search("encrypted drive", 5, only) == [], "no kotter chunk shares a term"
    assert filled.dense_search(vector, 5, set()) == [] and filled.keyword_search("lean", 5, set()) == []
    assert filled.dense_search(vector, 5, {"unknown"}) == []


def test_resolve_filters(filled, library):
    ids = {name: doc.id for name, doc in library.items()}
    assert filled.resolve_filters(Filters()) is None, "no filter: no restriction"
    assert filled.resolve_filters(Filters(topics=frozenset({"leadership", "flow"}))) == {
        ids["kotter"],
        ids["lean"],
    }
    assert filled.resolve_filters(Filters(formats=frozenset({"PDF"}))) == {ids["ethics"], ids["infection"]}
    assert filled.resolve_filters(Filters(year_min=2015)) == {ids["ethics"], ids["infection"]}, (
        "no year: excluded"
    )
    assert filled.resolve_filters(Filters(year_min=2010, year_max=2019, formats=frozenset({"pdf"}))) == {
        ids["ethics"]
    }
    assert filled.resolve_filters(Filters(doc_ids=frozenset({ids["lean"], "gone"}))) == {ids["lean"]}
    assert filled.resolve_filters(Filters(topics=frozenset({"astronomy"}))) == set()


def test_adding_the_same_document_again_changes_nothing(filled, library, settings, disk_state):
    before = disk_state(settings.index.dir).generation
    lean = library["lean"]
    filled.add_document(lean.doc, lean.chunks, lean.vectors)
    assert len(filled.documents()) == 4
    assert disk_state(settings.index.dir).generation == before, "a re-add must not touch the registry"


def test_replaces_swaps_old_for_new(filled, library, make_doc, settings, disk_state, stores_agree):
    old = library["lean"]
    new = make_doc(
        old.doc.text + "\n\nA new paragraph on takt time.", old.doc.source, "markdown", {"year": 2024}
    )
    filled.add_document(new.doc, new.chunks, new.vectors, replaces=old.id)
    assert filled.get_document(old.id) is None, "the old version is gone"
    assert filled.document_by_source(old.doc.source).doc_id == new.id, "the source now names the new version"
    assert filled.keyword_search("takt", 3)[0][0] == new.chunk_ids[2]
    assert not set(old.chunk_ids) & {cid for cid, _ in filled.keyword_search("value stream mapping", 10)}
    filled.close()
    state = disk_state(settings.index.dir)
    stores_agree(state)
    assert new.id in state.documents and old.id not in state.documents


def test_remove_deletes_everywhere(filled, library, settings, disk_state, stores_agree, embedder):
    gone = library["infection"]
    filled.remove_document(gone.id)
    filled.remove_document(gone.id)  # unknown by now: a no-op
    assert filled.get_document(gone.id) is None and len(filled.documents()) == 3
    assert all(cid not in gone.chunk_ids for cid, _ in filled.keyword_search("infection hand hygiene", 10))
    vector = embedder.embed_batch(["infection control domains"])[0]
    assert all(cid not in gone.chunk_ids for cid, _ in filled.dense_search(vector, 10))
    filled.close()
    state = disk_state(settings.index.dir)
    stores_agree(state)
    assert gone.id not in state.documents and not set(gone.chunk_ids) & state.chroma


def test_reopen_after_close_keeps_everything(filled, library, settings):
    filled.close()
    with Index.open(settings, create=False) as reopened:
        assert [d.doc_id for d in reopened.documents()] == [d.id for d in library.values()]
        assert reopened.keyword_search("guiding coalition", 1)[0][0] == library["kotter"].chunks[0].id
        assert reopened.get_chunks(library["lean"].chunk_ids) == list(library["lean"].chunks)
        assert reopened.verify() == []


def test_a_change_outside_a_batch_saves_bm25_lazily(index, library, settings, disk_state):
    ethics = library["ethics"]
    index.add_document(ethics.doc, ethics.chunks, ethics.vectors)
    assert disk_state(settings.index.dir).bm25_generation != disk_state(settings.index.dir).generation, (
        "no rebuild yet: nobody has searched"
    )
    assert index.keyword_search("consent", 1)[0][0] == ethics.chunks[1].id, "the search rebuilds first"
    state = disk_state(settings.index.dir)
    assert state.bm25_generation == state.generation and state.bm25 == set(ethics.chunk_ids)


def test_a_batch_rebuilds_bm25_once_at_its_end(index, library, settings, disk_state, monkeypatch):
    from rag.index import store

    builds = []
    real_build = store.KeywordIndex.build
    monkeypatch.setattr(store.KeywordIndex, "build", lambda *a, **k: builds.append(1) or real_build(*a, **k))
    with index.batch():
        for doc in library.values():
            index.add_document(doc.doc, doc.chunks, doc.vectors)
        assert builds == [], "nothing is rebuilt inside the batch"
    assert len(builds) == 1, f"one rebuild at the end of the batch, got {len(builds)}"
    state = disk_state(settings.index.dir)
    assert state.bm25_generation == state.generation and len(state.bm25) == 8, "saved at the end"


def test_invalid_input_is_refused_before_anything_is_written(index, library):
    lean = library["lean"]
    with pytest.raises(ValueError, match="vectors"):
        index.add_document(lean.doc, lean.chunks, lean.vectors[:1])
    with pytest.raises(ValueError, match="not the document text"):
        index.add_document(
            lean.doc,
            (lean.chunks[0].__class__(**{**lean.chunks[0].__dict__, "text": "x"}),),
            lean.vectors[:1],
        )
    assert index.documents() == [] and index.verify() == []


def test_a_failing_store_rolls_the_change_back(index, library, monkeypatch):
    from rag.index.registry import Registry

    def broken_commit(*args, **kwargs):
        raise OSError("disk full")

    ethics = library["ethics"]
    monkeypatch.setattr(Registry, "commit", broken_commit)
    with pytest.raises(OSError, match="disk full"):
        index.add_document(ethics.doc, ethics.chunks, ethics.vectors)
    monkeypatch.undo()
    assert index.documents() == [] and index.verify() == [], "the vectors written before the failure are gone"
    assert not (index.path / "journal.json").exists()


def test_fingerprint_mismatch_names_both_fingerprints_the_change_and_the_fix(filled, settings):
    filled.close()
    other = settings.model_copy(update={"chunking": ChunkingSettings(chunk_tokens=400)})
    with pytest.raises(FingerprintMismatchError) as caught:
        Index.open(other)
    message = str(caught.value)
    folder = str(settings.index.dir.resolve())
    for expected in (
        settings.fingerprint(),
        other.fingerprint(),
        "chunking.chunk_tokens: 350 -> 400",
        folder,
    ):
        assert expected in message, f"{expected!r} missing from: {message}"
    assert f"rm -r {folder} && changeguide ingest PATH... --index {folder}" in message, message


def test_opening_a_missing_index_without_create_fails_clearly(tmp_path):
    settings = Settings().with_index_dir(tmp_path / "nothing")
    with pytest.raises(IndexNotFoundError, match="changeguide ingest"):
        Index.open(settings, create=False)
    assert not (tmp_path / "nothing").exists(), "opening without create must not create the folder"


def test_a_folder_of_other_files_is_not_taken_over(tmp_path):
    (tmp_path / "thesis.docx").write_bytes(b"mine")
    with pytest.raises(IndexCorruptError, match="thesis.docx"):
        Index.open(Settings().with_index_dir(tmp_path))


def test_readers_and_a_writer_share_one_index(index, library, embedder):
    """Searches from several threads while another thread changes the library: no errors, no half states."""
    docs = list(library.values())
    first = docs[0]
    index.add_document(first.doc, first.chunks, first.vectors)
    vector = embedder.embed_batch(["change management"])[0]
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        try:
            while not done.is_set():
                with index.reading():
                    hits = index.keyword_search("steps patient consent domain", 8) + index.dense_search(
                        vector, 8
                    )
                    # Every hit resolves; a count seen is always a whole number of documents' chunks.
                    index.get_chunks([cid for cid, _ in hits])
                    index.chunk_vectors([cid for cid, _ in hits])
                    assert index.stats().chunks % 2 == 0
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for thread in readers:
        thread.start()
    try:
        for doc in docs[1:]:
            index.add_document(doc.doc, doc.chunks, doc.vectors)
        index.remove_document(first.id)
    finally:
        done.set()
        for thread in readers:
            thread.join(timeout=30)
    assert errors == [], f"readers failed: {errors!r}"
    assert len(index.documents()) == 3 and index.verify() == []


def test_an_unreadable_registry_names_the_rebuild_command(filled, settings):
    filled.close()
    (settings.index.dir / "registry.sqlite3").write_bytes(b"not a database" * 100)
    for leftover in ("registry.sqlite3-wal", "registry.sqlite3-shm"):
        (settings.index.dir / leftover).unlink(missing_ok=True)
    with pytest.raises(IndexCorruptError, match="rm -r .* && changeguide ingest PATH"):
        Index.open(settings)


def test_a_file_in_place_of_the_folder_is_refused(tmp_path):
    (tmp_path / "index").write_text("oops", encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="is a file"):
        Index.open(Settings().with_index_dir(tmp_path / "index"))


def test_a_search_inside_a_batch_sees_new_documents_and_the_batch_end_still_saves(
    index, library, settings, disk_state
):
    kotter, lean = library["kotter"], library["lean"]
    with index.batch():
        index.add_document(kotter.doc, kotter.chunks, kotter.vectors)
        assert index.keyword_search("guiding coalition", 1)[0][0] == kotter.chunks[0].id, "rebuilt in memory"
        index.add_document(lean.doc, lean.chunks, lean.vectors)
        assert index.keyword_search("value stream", 1)[0][0] == lean.chunks[1].id
        mid = disk_state(settings.index.dir)
        assert mid.bm25_generation != mid.generation, "nothing is saved mid-batch"
    state = disk_state(settings.index.dir)
    assert state.bm25_generation == state.generation and len(state.bm25) == 4, "the end of the batch saves"
