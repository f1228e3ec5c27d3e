"""Query-side embedding with a small LRU cache, so each stage reuses the question's vector."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from rag.index.embedding import Embedder

QUERY_CACHE_SIZE = 1024  # texts, ~1.5 MB of 384-d float32 vectors: questions plus answer sentences


class CachedEmbedder:
    """An `Embedder` that remembers recent texts' vectors (least recently used evicted).

    The retriever embeds the question, the reranker and the answerer ask again for the same
    text: only the first call runs the model. Misses in one call are embedded in one batch.
    Thread-safe; the inner embedder serialises its own model calls.
    """

    def __init__(self, inner: Embedder, maxsize: int = QUERY_CACHE_SIZE) -> None:
        self.inner = inner
        self.maxsize = maxsize
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for text in texts:
                vector = self._cache.get(text)
                if vector is not None:
                    self._cache.move_to_end(text)
                    found[text] = vector
            missing = list(dict.fromkeys(t for t in texts if t not in found))
            self.hits += len(texts) - len(missing)
            self.misses += len(missing)
        if missing:
            vectors = np.asarray(self.inner.embed_batch(missing), dtype=np.float32)
            with self._lock:
                for text, vector in zip(missing, vectors, strict=True):
                    vector.setflags(write=False)  # shared between callers: nobody may change it
                    found[text] = vector
                    self._cache[text] = vector
                    self._cache.move_to_end(text)
                while len(self._cache) > self.maxsize:
                    self._cache.popitem(last=False)
        if not texts:
            return np.asarray(self.inner.embed_batch([]), dtype=np.float32)
        return np.stack([found[t] for t in texts])

    def clear(self) -> None:
        """Forget every cached vector (benchmarks use it to measure cold queries)."""
        with self._lock:
            self._cache.clear()

    def embed_query(self, text: str) -> np.ndarray:
        """The unit vector of one text, shape (dim,)."""
        return self.embed_batch([text])[0]
