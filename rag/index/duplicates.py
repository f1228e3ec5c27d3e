"""Near-duplicate passages across documents: MinHash signatures of chunks, found with LSH.

A trust's yearly reports repeat whole paragraphs, so one answer could quote the same sentence
from three documents. Each chunk gets a MinHash signature of its word 3-shingles (datasketch);
a new document's chunks are looked up in an LSH index of every stored signature, and pairs
from different documents whose estimated Jaccard similarity reaches `DUPLICATE_JACCARD` are
stored as links in the registry (in the same transaction as the document, so links never
outlive either chunk). The LSH index lives in memory and is rebuilt from the registry on open.
How the parameters were chosen: benchmarks/bench_dedup.py and benchmarks/README.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from rag.index.registry import Registry

NUM_PERM = 128  # permutations per signature: Jaccard estimates within ~±0.05 (1/sqrt(128) ≈ 0.09 s.d. max)
SHINGLE_WORDS = 3  # word 3-grams: a changed word breaks 3 shingles, not the whole passage
# Two chunks are near-duplicates at this estimated Jaccard similarity of their shingles. Chunk
# boundaries fall differently in two reports that share a stretch of text, so a chunk inside
# the shared stretch overlaps its counterpart by about two thirds or more: Jaccard >= 0.5.
DUPLICATE_JACCARD = 0.5
# The LSH bands are set a little below the link threshold, so pairs near it are still candidates.
LSH_THRESHOLD = 0.4
# A cited excerpt is "also in" another document when this share of its shingles is in a linked chunk.
EXCERPT_CONTAINMENT = 0.8
SCHEME = "affine32"  # datasketch's hashing scheme; stored signatures are only comparable within one
MIN_SHINGLES = 8  # chunks shorter than this (a heading, a number) are never linked

_WORD = re.compile(r"\w+")


def shingles(text: str) -> set[bytes]:
    """The word 3-shingles of `text`, lower-cased (punctuation and spacing ignored)."""
    words = _WORD.findall(text.casefold())
    if len(words) < SHINGLE_WORDS:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i : i + SHINGLE_WORDS]).encode() for i in range(len(words) - SHINGLE_WORDS + 1)}


def signatures(texts: Sequence[str]) -> np.ndarray:
    """MinHash signatures of `texts`, shape (len(texts), NUM_PERM), uint32 (an empty text gets all-max)."""
    from datasketch import MinHash

    if not texts:
        return np.zeros((0, NUM_PERM), dtype=np.uint32)
    sets = [sorted(shingles(t)) for t in texts]
    hashes = MinHash.bulk([s or [b""] for s in sets], num_perm=NUM_PERM, scheme=SCHEME)
    out = np.vstack([h.hashvalues for h in hashes]).astype(np.uint32)
    for i, s in enumerate(sets):
        if len(s) < MIN_SHINGLES:
            out[i] = np.iinfo(np.uint32).max  # marks "too short to compare"
    return out


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures (the share of equal slots)."""
    return float(np.mean(a == b))


def containment(part: str, whole: str) -> float:
    """The share of `part`'s shingles that are in `whole` (1.0 = every phrase of it is there)."""
    mine = shingles(part)
    return len(mine & shingles(whole)) / len(mine) if mine else 0.0


@dataclass(frozen=True)
class DuplicateLink:
    """Chunk `chunk_id` of `doc_id` nearly repeats chunk `other_id` of `other_doc_id`."""

    chunk_id: str
    doc_id: str
    other_id: str
    other_doc_id: str
    similarity: float


@dataclass(frozen=True)
class SharedShare:
    """How much of a document repeats others: its chunks that have a near-duplicate elsewhere."""

    chunks: int  # chunks of this document with a near-duplicate in another document
    total: int  # all its chunks
    documents: tuple[str, ...]  # ids of the documents it shares passages with

    @property
    def share(self) -> float:
        return self.chunks / self.total if self.total else 0.0

    def label(self) -> str:
        """E.g. "31% shared with 2 documents" ("" when nothing is shared)."""
        if not self.chunks:
            return ""
        n = len(self.documents)
        return f"{self.share:.0%} shared with {n} document{'s' if n != 1 else ''}"


def _minhash(signature: np.ndarray):
    """A datasketch LeanMinHash holding a stored signature (no permutations built: LSH needs none)."""
    from datasketch import LeanMinHash

    return LeanMinHash(seed=1, hashvalues=signature, scheme=SCHEME)


def _is_comparable(signature: np.ndarray) -> bool:
    return bool(signature[0] != np.iinfo(np.uint32).max or (signature != signature[0]).any())


class DuplicateFinder:
    """The in-memory LSH index of stored chunk signatures. Not thread-safe: the `Index` lock guards it."""

    def __init__(self) -> None:
        from datasketch import MinHashLSH

        self._lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
        self._signatures: dict[str, tuple[str, np.ndarray]] = {}  # chunk id -> (doc id, signature)
        self._by_doc: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return len(self._signatures)

    def add(self, doc_id: str, chunk_ids: Sequence[str], sigs: np.ndarray) -> None:
        for chunk_id, signature in zip(chunk_ids, sigs, strict=True):
            if chunk_id in self._signatures or not _is_comparable(signature):
                continue
            self._lsh.insert(chunk_id, _minhash(signature))
            self._signatures[chunk_id] = (doc_id, signature)
            self._by_doc.setdefault(doc_id, []).append(chunk_id)

    def remove_documents(self, doc_ids: Iterable[str]) -> None:
        for doc_id in doc_ids:
            for chunk_id in self._by_doc.pop(doc_id, []):
                self._signatures.pop(chunk_id, None)
                self._lsh.remove(chunk_id)

    def links(self, doc_id: str, chunk_ids: Sequence[str], sigs: np.ndarray) -> list[DuplicateLink]:
        """Near-duplicates in other documents of these chunks of `doc_id`, both directions."""
        found: list[DuplicateLink] = []
        for chunk_id, signature in zip(chunk_ids, sigs, strict=True):
            if not _is_comparable(signature):
                continue
            for other_id in self._lsh.query(_minhash(signature)):
                other_doc, other_sig = self._signatures[other_id]
                if other_doc == doc_id:
                    continue
                score = similarity(signature, other_sig)
                if score >= DUPLICATE_JACCARD:
                    found.append(DuplicateLink(chunk_id, doc_id, other_id, other_doc, score))
                    found.append(DuplicateLink(other_id, other_doc, chunk_id, doc_id, score))
        return found


def shares(counts: Mapping[str, tuple[int, list[str]]], totals: Mapping[str, int]) -> dict[str, SharedShare]:
    """`SharedShare` per document from the registry's counts and each document's number of chunks."""
    return {
        doc_id: SharedShare(chunks=n, total=totals[doc_id], documents=tuple(others))
        for doc_id, (n, others) in counts.items()
        if doc_id in totals
    }


def load_finder(registry: Registry) -> DuplicateFinder:
    """The LSH index of the registry's signatures, first signing (and linking) chunks stored without one.

    Chunks lack signatures only in an index built before near-duplicates were tracked: this
    upgrades it once, document by document, without re-embedding anything.
    """
    finder = DuplicateFinder()
    ids, doc_ids, sigs = registry.signatures()
    rows_of: dict[str, list[int]] = {}
    for i, doc_id in enumerate(doc_ids):
        rows_of.setdefault(doc_id, []).append(i)
    for doc_id, rows in rows_of.items():
        finder.add(doc_id, [ids[i] for i in rows], sigs[rows])
    unsigned: dict[str, list[tuple[str, str]]] = {}
    for chunk_id, doc_id, text in registry.unsigned_chunks():
        unsigned.setdefault(doc_id, []).append((chunk_id, text))
    for doc_id, items in unsigned.items():
        chunk_ids = [c for c, _ in items]
        new = signatures([t for _, t in items])
        registry.add_signatures(
            chunk_ids, [doc_id] * len(chunk_ids), new, finder.links(doc_id, chunk_ids, new)
        )
        finder.add(doc_id, chunk_ids, new)
    return finder
