"""The query-embedding cache in front of the real model."""

from __future__ import annotations

import numpy as np

from rag.retrieve.dense import CachedEmbedder


class _Counting:
    """Wraps the real embedder and records what it was asked to embed."""

    def __init__(self, inner):
        self.inner = inner
        self.calls: list[list[str]] = []

    def embed_batch(self, texts):
        self.calls.append(list(texts))
        return self.inner.embed_batch(texts)


def test_cached_vectors_equal_fresh_ones_and_skip_the_model(embedder):
    counting = _Counting(embedder)
    cache = CachedEmbedder(counting, maxsize=8)
    first = cache.embed_batch(["what is a run chart?", "funnel plots"])
    again = cache.embed_batch(["funnel plots", "what is a run chart?", "a new text", "a new text"])
    assert counting.calls == [["what is a run chart?", "funnel plots"], ["a new text"]], (
        f"only unseen texts reach the model, each once: {counting.calls}"
    )
    assert np.allclose(again[0], first[1]) and np.allclose(again[1], first[0]), (
        "cached rows come back in order"
    )
    assert np.allclose(again[2], embedder.embed_batch(["a new text"])[0], atol=1e-5), (
        "a miss is a real embedding"
    )
    assert again.shape == (4, first.shape[1])
    assert cache.embed_query("funnel plots").shape == (first.shape[1],)


def test_least_recently_used_entries_are_evicted(embedder):
    counting = _Counting(embedder)
    cache = CachedEmbedder(counting, maxsize=2)
    cache.embed_batch(["one"])
    cache.embed_batch(["two"])
    cache.embed_batch(["one"])  # refresh "one": "two" is now the oldest
    cache.embed_batch(["three"])
    counting.calls.clear()
    cache.embed_batch(["one", "two"])
    assert counting.calls == [["two"]], f"'two' should have been evicted, 'one' kept: {counting.calls}"


def test_returned_arrays_cannot_corrupt_the_cache(embedder):
    cache = CachedEmbedder(embedder)
    vector = cache.embed_batch(["quality improvement"])
    vector[0, :] = 0.0
    assert np.linalg.norm(cache.embed_query("quality improvement")) > 0.99, "callers get copies"
