"""The JSON shape of an answer (`changeguide ask --json`, the evaluation runner's records)."""

from __future__ import annotations

from typing import Any

from rag.types import Answer, Citation, ScoredChunk

TIMING_KEYS = ("retrieve", "rerank", "answer", "total")


def _citation(citation: Citation) -> dict[str, Any]:
    return {
        "n": citation.n,
        "doc_id": citation.doc_id,
        "title": citation.title,
        "source": citation.source,
        "page": citation.page,
        "page_end": citation.page_end,
        "section": citation.section,
        "excerpt": citation.excerpt,
        "start": citation.start,
        "end": citation.end,
        "score": round(float(citation.score), 4),
        "verified": bool(citation.verified),
        "ocr": bool(citation.ocr),
    }


def _retrieved(item: ScoredChunk) -> dict[str, Any]:
    return {
        "chunk_id": item.chunk.id,
        "doc_id": item.chunk.doc_id,
        "source": str(item.chunk.meta.get("source", "")),
        "score": round(float(item.score), 4),
    }


def answer_to_json(answer: Answer) -> dict[str, Any]:
    """The answer as a JSON-ready dict, exactly the keys documented for `ask --json`."""
    return {
        "question": answer.question,
        "standalone_question": answer.standalone_question,
        "answer": answer.text,
        "abstained": bool(answer.abstained),
        "backend": answer.backend,
        "citations": [_citation(c) for c in answer.citations],
        "retrieved": [_retrieved(r) for r in answer.retrieved],
        "timings_ms": {key: round(float(answer.timings_ms.get(key, 0.0)), 1) for key in TIMING_KEYS},
        "index_fingerprint": answer.index_fingerprint,
    }
