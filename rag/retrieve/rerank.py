"""Second stage: score the fused candidates against the question more finely.

No cross-encoder can be had offline (none ships on PyPI, hub downloads are off), so the
`FeatureReranker` combines signals the fused rank throws away (rag/retrieve/features.py):
exact cosine for every candidate, normalised BM25, term and term-pair coverage of the chunk
and its best sentence, heading matches, the similarity of the question to the document's
title and summary, and whether the section suits the kind of question. A logistic model over
them gives each candidate a score in (0, 1). Measured against plain RRF on
evals/questions/dev.jsonl in benchmarks/README.md.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

import numpy as np

from rag.retrieve.dense import CachedEmbedder
from rag.retrieve.features import FEATURES, candidate_features
from rag.types import ScoredChunk

if TYPE_CHECKING:
    from rag.index.store import Index


class Reranker(Protocol):
    """Reorders first-stage candidates; returns the best `k`, best first, with new scores."""

    def rerank(self, query: str, candidates: Sequence[ScoredChunk], k: int) -> list[ScoredChunk]: ...


class FusionOrder:
    """The identity second stage: keeps the RRF order (the baseline the feature model is measured against)."""

    def rerank(self, query: str, candidates: Sequence[ScoredChunk], k: int) -> list[ScoredChunk]:
        return sorted(candidates, key=lambda c: -c.score)[:k]


# Logistic-regression weights over FEATURES (same order) and the intercept. Fitted by
# `benchmarks/tune_retrieval.py --fit` (Newton's method, L2 0.1) on every first-stage candidate
# of the 72 in-scope questions of evals/questions/dev.jsonl over a dev index of corpus/;
# label 1 = the chunk comes from a gold source and contains a gold phrase (54 documents, 336
# chunks, ~4,400 candidates). heading_terms and intent earned ~0 weight here: every brief has the
# same five headings, and pitfalls_unasked already captures what they add.
WEIGHTS = (1.15, -1.60, 2.96, -0.53, 0.11, 1.52, 0.01, 1.23, 1.26, 13.47, 0.01, -0.93, 0.23)
INTERCEPT = -4.37
PROFILE_OPENING_CHARS = 400  # a document without a summary is profiled by its title and opening words


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z > -500 else 0.0


class FeatureReranker:
    """Logistic combination of the features in rag/retrieve/features.py (see the module docstring)."""

    def __init__(
        self,
        index: Index,
        embedder: CachedEmbedder,
        weights: Sequence[float] = WEIGHTS,
        intercept: float = INTERCEPT,
    ) -> None:
        if len(weights) != len(FEATURES):
            raise ValueError(f"{len(weights)} weights for {len(FEATURES)} features")
        self.index = index
        self.embedder = embedder
        self.weights = np.asarray(weights, dtype=np.float64)
        self.intercept = float(intercept)
        # Document id -> unit vector of "title. summary"; ids are content hashes, so never stale.
        self._profiles: dict[str, np.ndarray] = {}
        self._profiles_lock = threading.Lock()

    def _profile_vectors(self, doc_ids: Sequence[str]) -> np.ndarray:
        with self._profiles_lock:
            missing = [d for d in dict.fromkeys(doc_ids) if d not in self._profiles]
        if missing:
            texts = [self._profile_text(doc_id) for doc_id in missing]
            # The inner embedder: profiles are cached here and must not crowd the query cache.
            vectors = self.embedder.inner.embed_batch(texts)
            with self._profiles_lock:
                self._profiles.update(zip(missing, vectors, strict=True))
        with self._profiles_lock:
            return np.stack([self._profiles[d] for d in doc_ids])

    def forget_others(self, doc_ids: Collection[str]) -> None:
        """Drop the profiles of documents not in `doc_ids` (the engine calls it when the library changed)."""
        with self._profiles_lock:
            self._profiles = {d: v for d, v in self._profiles.items() if d in doc_ids}

    def warm(self, batch_size: int = 256) -> int:
        """Embed the profile of every document not yet seen, so first questions do not pay for it.

        Returns how many profiles were embedded. Optional: profiles are otherwise embedded on first use.
        """
        with self._profiles_lock:
            missing = [r.doc_id for r in self.index.documents() if r.doc_id not in self._profiles]
        for begin in range(0, len(missing), batch_size):
            self._profile_vectors(missing[begin : begin + batch_size])
        return len(missing)

    def _profile_text(self, doc_id: str) -> str:
        """What a document is about: its title and summary, or its opening words when it has no summary."""
        record = self.index.get_document(doc_id)
        if record is None:  # removed since the search: any text will do, the passage is dropped soon
            return ""
        about = str(record.meta.get("summary") or "")
        if not about:
            try:
                about = self.index.document_text(doc_id)[:PROFILE_OPENING_CHARS]
            except KeyError:
                about = ""
        return f"{record.title}. {about}"

    def features(self, query: str, candidates: Sequence[ScoredChunk]) -> np.ndarray:
        """The feature matrix of `candidates` for `query` (the tuning script fits on it)."""
        if not candidates:
            return np.zeros((0, len(FEATURES)))
        vectors = self.index.chunk_vectors([c.chunk.id for c in candidates])
        profiles = self._profile_vectors([c.chunk.doc_id for c in candidates])
        return candidate_features(query, self.embedder.embed_query(query), candidates, vectors, profiles)

    def rerank(self, query: str, candidates: Sequence[ScoredChunk], k: int) -> list[ScoredChunk]:
        if not candidates:
            return []
        x = self.features(query, candidates)
        logits = x @ self.weights + self.intercept
        rescored = [
            replace(c, score=_sigmoid(z), rerank_score=_sigmoid(z), dense_score=float(cos))
            for c, z, cos in zip(candidates, logits, x[:, 0], strict=True)
        ]
        rescored.sort(key=lambda c: -c.score)  # stable: equal scores keep the fusion order
        return rescored[:k]
