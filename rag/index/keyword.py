"""BM25 keyword search over chunk texts (bm25s, English stopwords, Snowball stemmer).

bm25s cannot add to an index, so the whole index is rebuilt from the registry when the
registry changes (once per ingest batch). Each saved index is stamped with the registry
generation it was built from, so a stale one is detected when the index is opened.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

IDS_FILE = "ids.json"
STOPWORDS = "en"  # bm25s' English stopword list
# Documents whose titles calibrate the library's BM25 scale (`KeywordIndex.scale`): enough for a
# stable median, few enough that the first question after a change pays milliseconds at 100k chunks.
SCALE_SAMPLE = 32


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class KeywordIndex:
    """A bm25s index with the chunk id and document id of each of its rows.

    Searching is thread-safe: the stemmer, which is not, is used under a lock.
    """

    def __init__(
        self, retriever: bm25s.BM25 | None, chunk_ids: Sequence[str], doc_ids: Sequence[str], generation: int
    ) -> None:
        if len(chunk_ids) != len(doc_ids):
            raise ValueError(f"{len(chunk_ids)} chunk ids but {len(doc_ids)} document ids")
        self._retriever = retriever
        self.chunk_ids = list(chunk_ids)
        self.doc_ids = list(doc_ids)
        self.generation = generation
        self._ids = np.asarray(self.chunk_ids, dtype=object)
        # Documents as small integer codes, so a document filter becomes a fast vector mask.
        self._doc_codes: dict[str, int] = {}
        codes = [self._doc_codes.setdefault(d, len(self._doc_codes)) for d in self.doc_ids]
        self._row_codes = np.asarray(codes, dtype=np.int32)
        self._stemmer = Stemmer.Stemmer("english")
        self._stem_lock = threading.Lock()
        self._scale_sample: list[str] | None = None  # the documents whose titles set `scale`
        self._scales: dict[tuple[str, ...], float] = {}

    def __len__(self) -> int:
        return len(self.chunk_ids)

    @classmethod
    def build(
        cls, chunk_ids: Sequence[str], doc_ids: Sequence[str], texts: Sequence[str], generation: int
    ) -> KeywordIndex:
        """Index `texts` (one per chunk id)."""
        if len(texts) != len(chunk_ids):
            raise ValueError(f"{len(chunk_ids)} chunk ids but {len(texts)} texts")
        retriever = None
        if texts:
            tokens = bm25s.tokenize(
                list(texts), stopwords=STOPWORDS, stemmer=Stemmer.Stemmer("english"), show_progress=False
            )
            retriever = bm25s.BM25()
            retriever.index(tokens, show_progress=False)
        return cls(retriever, chunk_ids, doc_ids, generation)

    def search(self, query: str, n: int, doc_ids: Collection[str] | None = None) -> list[tuple[str, float]]:
        """Up to `n` (chunk id, BM25 score) pairs, best first; chunks sharing no term are left out."""
        return [(cid, score) for cid, _, score in self.search_documents(query, n, doc_ids)]

    def search_documents(
        self, query: str, n: int, doc_ids: Collection[str] | None = None
    ) -> list[tuple[str, str, float]]:
        """Like `search`, with each hit's document id: (chunk id, document id, BM25 score)."""
        if self._retriever is None or n <= 0 or (doc_ids is not None and not doc_ids):
            return []
        with self._stem_lock:
            tokens = bm25s.tokenize(
                [query], stopwords=STOPWORDS, stemmer=self._stemmer, return_ids=False, show_progress=False
            )[0]
        if not tokens:
            return []
        mask = None
        if doc_ids is not None:
            codes = [self._doc_codes[d] for d in doc_ids if d in self._doc_codes]
            if not codes:
                return []
            # A mask rather than over-fetching: a selective filter still yields its n best.
            mask = np.isin(self._row_codes, codes).astype(np.float32)
        scores = self._retriever.get_scores(tokens, weight_mask=mask)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.chunk_ids[i], self.doc_ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def scale(self, title_of: Callable[[str], str | None]) -> float:
        """The score of a strong match in this index: the median, over up to SCALE_SAMPLE documents
        (evenly spaced in id order), of the best score a document's own title gets among its chunks.

        Raw BM25 grows with the number of chunks and with how spread their topics are (in a library
        of one document about run charts, "run" and "chart" are in every chunk and weigh nearly
        nothing); a score divided by this scale reads the same in any library. 1.0 when no title
        matches. `title_of` gives a document's title by id (None or "" when it has none); only the
        sampled documents are looked up. Kept for the titles it was computed from (an index is one
        generation of the library).
        """
        if self._scale_sample is None:
            documents = sorted(self._doc_codes)
            step = max(1.0, len(documents) / SCALE_SAMPLE)
            self._scale_sample = [documents[int(i * step)] for i in range(min(len(documents), SCALE_SAMPLE))]
        key = tuple(title_of(d) or "" for d in self._scale_sample)
        if key not in self._scales:
            best = [
                hits[0][2]
                for d, title in zip(self._scale_sample, key, strict=True)
                if title and (hits := self.search_documents(title, 1, [d]))
            ]
            self._scales[key] = float(np.median(best)) if best else 1.0
        return self._scales[key]

    def save(self, path: Path) -> None:
        """Write the index to `path`, replacing any earlier one there as a whole."""
        staging = path.with_name(path.name + ".new")
        retired = path.with_name(path.name + ".old")
        for leftover in (staging, retired):
            shutil.rmtree(leftover, ignore_errors=True)
        staging.mkdir(parents=True)
        if self._retriever is not None:
            self._retriever.save(staging, show_progress=False)
        ids = {"generation": self.generation, "chunk_ids": self.chunk_ids, "doc_ids": self.doc_ids}
        # ids.json is written last: its presence marks a complete index.
        with open(staging / IDS_FILE, "w", encoding="utf-8") as f:
            json.dump(ids, f)
            f.flush()
            os.fsync(f.fileno())
        # A directory cannot be renamed over a non-empty one: retire the old one first.
        # A crash in between leaves no index at `path`, which reads as stale and is rebuilt.
        if path.exists():
            path.rename(retired)
        staging.rename(path)
        _fsync_dir(path.parent)
        shutil.rmtree(retired, ignore_errors=True)

    @classmethod
    def load(cls, path: Path) -> KeywordIndex | None:
        """The index saved at `path`, or None when there is none or it is unreadable."""
        try:
            with open(path / IDS_FILE, encoding="utf-8") as f:
                ids = json.load(f)
            retriever = bm25s.BM25.load(path, show_progress=False) if ids["chunk_ids"] else None
            index = cls(retriever, ids["chunk_ids"], ids["doc_ids"], int(ids["generation"]))
            # Another process may have swapped in a newer save while this one read: read the stamp again.
            with open(path / IDS_FILE, encoding="utf-8") as f:
                if int(json.load(f)["generation"]) != index.generation:
                    return None
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if retriever is not None and retriever.scores["num_docs"] != len(index):
            return None
        return index
