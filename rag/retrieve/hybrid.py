"""First stage: dense (Chroma) and keyword (BM25) search fused by reciprocal rank fusion."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from rag.retrieve.dense import CachedEmbedder
from rag.retrieve.fusion import reciprocal_rank_fusion
from rag.types import Filters, ScoredChunk

if TYPE_CHECKING:
    from rag.index.store import Index

Mode = Literal["hybrid", "dense", "bm25"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "bm25")


class HybridRetriever:
    """Dense, keyword or fused search over one `Index`, with document filters."""

    def __init__(self, index: Index, embedder: CachedEmbedder, mode: Mode = "hybrid") -> None:
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; choose one of {', '.join(MODES)}")
        self.index = index
        self.embedder = embedder
        self.mode = mode

    def search(
        self, query: str, n: int, filters: Filters | None = None, *, mode: Mode | None = None
    ) -> list[ScoredChunk]:
        """Candidates for `query`, best first, scored by RRF over the chosen retrievers.

        Args:
            query: the standalone question.
            n: how many candidates each retriever returns; the fused list holds up to 2n.
            filters: document restrictions; an empty or absent filter searches everything.
            mode: overrides the retriever's mode for this call.

        Raises:
            ValueError: for an unknown mode.
        """
        mode = mode or self.mode
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; choose one of {', '.join(MODES)}")
        doc_ids = None if filters is None or filters.is_empty() else self.index.resolve_filters(filters)
        if doc_ids is not None and not doc_ids:
            return []  # the filters exclude every document
        dense: list[tuple[str, float]] = []
        keyword: list[tuple[str, float]] = []
        if mode in ("hybrid", "dense"):
            dense = self.index.dense_search(self.embedder.embed_query(query), n, doc_ids)
        scale = 1.0
        if mode in ("hybrid", "bm25"):
            keyword = self.index.keyword_search(query, n, doc_ids)
            scale = self.index.keyword_scale() if keyword else 1.0
        dense_scores = dict(dense)
        # BM25 over the library's scale, so a score means the same in a small library as in a large one.
        keyword_scores = {cid: score / scale for cid, score in keyword}
        fused = reciprocal_rank_fusion([[cid for cid, _ in dense], [cid for cid, _ in keyword]])
        chunks = self.index.get_chunks([cid for cid, _ in fused])
        return [
            ScoredChunk(
                chunk=chunk,
                score=score,
                dense_score=dense_scores.get(cid),
                keyword_score=keyword_scores.get(cid),
            )
            for (cid, score), chunk in zip(fused, chunks, strict=True)
        ]
