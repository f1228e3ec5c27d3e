"""Crash recovery: a process that dies at any step of a change leaves an index that opens and agrees.

A child process runs the change and calls os._exit (no cleanup, like kill -9) at a chosen point;
the test then checks what the crash left on disk, reopens the index and checks it again.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from rag.index.store import Index
from rag.index.vector_store import ChromaVectorStore

CHILD = Path(__file__).with_name("crash_child.py")
REPO = Path(__file__).resolve().parents[2]
CRASHED = 86


def _entry(doc) -> tuple:
    return (doc.doc, doc.chunks, doc.vectors)


@pytest.fixture()
def prepared(settings, library, make_doc, tmp_path):
    """An index holding `lean` and `kotter`, and a payload for the child: a new version of `lean`."""
    old, other = library["lean"], library["kotter"]
    new = make_doc(old.doc.text + "\n\nTakt time paces work to demand.", old.doc.source, "markdown")
    with Index.open(settings) as index, index.batch():
        for doc in (old, other):
            index.add_document(doc.doc, doc.chunks, doc.vectors)
    payload = tmp_path / "payload.pickle"
    extra = [_entry(library["ethics"]), _entry(library["infection"])]
    payload.write_bytes(pickle.dumps({"old": _entry(old), "new": _entry(new), "extra": extra}))
    return {"old": old, "new": new, "other": other, "payload": payload, "dir": settings.index.dir}


def _crash(prepared, action: str, target: str) -> None:
    result = subprocess.run(
        [sys.executable, str(CHILD), str(prepared["dir"]), str(prepared["payload"]), action, target],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == CRASHED, f"the child should have died at {target}: {result.stderr[-2000:]}"


def _reopen_and_check(settings, disk_state, stores_agree):
    with Index.open(settings) as index:
        assert index.verify() == [], "the reopened index agrees with itself"
    state = disk_state(settings.index.dir)
    stores_agree(state)
    return state


# (where the process dies, whether the new version should have replaced the old one)
REPLACE_CRASHES = [
    ("rag.index.journal:Journal.begin", False),
    ("rag.index.vector_store:ChromaVectorStore.add", False),
    ("rag.index.vector_store:ChromaVectorStore.add+half", False),
    ("rag.index.registry:Registry.commit", False),
    ("rag.index.vector_store:ChromaVectorStore.delete_documents", True),
    ("rag.index.journal:Journal.clear", True),
]


@pytest.mark.parametrize(
    ("target", "replaced"), REPLACE_CRASHES, ids=[t.split(":")[1] for t, _ in REPLACE_CRASHES]
)
def test_a_crash_during_a_replacement_leaves_the_old_or_the_new_version(
    prepared, target, replaced, settings, disk_state, stores_agree
):
    old, new = prepared["old"], prepared["new"]
    _crash(prepared, "replace", target)
    crashed = disk_state(settings.index.dir)
    if target.endswith("Registry.commit"):
        assert set(new.chunk_ids) <= crashed.chroma, "the crash left orphan vectors for recovery to delete"
    if target.endswith("delete_documents"):
        assert set(old.chunk_ids) <= crashed.chroma, (
            "the crash left the replaced vectors for recovery to delete"
        )
    state = _reopen_and_check(settings, disk_state, stores_agree)
    expected, gone = (new, old) if replaced else (old, new)
    assert expected.id in state.documents and gone.id not in state.documents, (
        f"exactly one version after a crash at {target}: {sorted(state.documents)}"
    )
    assert prepared["other"].id in state.documents, "an unrelated document is untouched"


@pytest.mark.parametrize(
    "target",
    ["rag.index.registry:Registry.commit", "rag.index.vector_store:ChromaVectorStore.delete_documents"],
)
def test_a_crash_during_a_removal_leaves_the_document_whole_or_gone(
    prepared, target, settings, disk_state, stores_agree
):
    _crash(prepared, "remove", target)
    state = _reopen_and_check(settings, disk_state, stores_agree)
    removed = target.endswith("delete_documents")  # the registry had committed
    assert (prepared["old"].id not in state.documents) == removed, sorted(state.documents)


def test_a_crash_while_saving_bm25_is_repaired_on_open(prepared, library, settings, disk_state, stores_agree):
    _crash(prepared, "batch", "rag.index.keyword:KeywordIndex.save")
    crashed = disk_state(settings.index.dir)
    assert crashed.bm25_generation != crashed.generation, "the saved BM25 index lags behind the registry"
    state = _reopen_and_check(settings, disk_state, stores_agree)
    assert {library["ethics"].id, library["infection"].id} <= state.documents, "the committed documents stay"


def test_missing_vectors_drop_their_document_so_the_next_ingest_re_adds_it(
    prepared, settings, disk_state, stores_agree
):
    """No journal, but Chroma lost some vectors (e.g. its files were restored from an older copy)."""
    lost = prepared["other"]
    vectors = ChromaVectorStore(settings.index.dir / "chroma")
    vectors.delete(lost.chunk_ids[:1])
    vectors.close()
    state = _reopen_and_check(settings, disk_state, stores_agree)
    assert lost.id not in state.documents and prepared["old"].id in state.documents, sorted(state.documents)
    with Index.open(settings) as index:
        index.add_document(lost.doc, lost.chunks, lost.vectors)
        assert index.get_document(lost.id) is not None and index.verify() == []


def test_a_missing_bm25_folder_is_rebuilt(prepared, settings, disk_state, stores_agree):
    import shutil

    shutil.rmtree(settings.index.dir / "bm25")
    state = _reopen_and_check(settings, disk_state, stores_agree)
    assert len(state.bm25) == len(prepared["old"].chunks) + len(prepared["other"].chunks)
