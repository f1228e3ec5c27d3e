"""The JSON shape of an answer (`changeguide ask --json`, the evaluation runner's records)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rag.types import Answer, AnswerSentence, Citation, KeySource, ScoredChunk

TIMING_KEYS = ("retrieve", "rerank", "answer", "total")


def _key_source(source: KeySource) -> dict[str, Any]:
    return {"citation": source.citation, "doi": source.doi, "url": source.url}


def _citation(citation: Citation, key_sources: Sequence[KeySource]) -> dict[str, Any]:
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
        # Other documents holding the same passage (near-duplicates collapsed into this quote).
        "also_in": [{"doc_id": r.doc_id, "title": r.title, "source": r.source} for r in citation.also_in],
        "ocr": bool(citation.ocr),
        "key_sources": [_key_source(s) for s in key_sources],
    }


def _sentence(sentence: AnswerSentence) -> dict[str, Any]:
    # role: "lead" (the direct answer) or "point" (a supporting point, shown under its source).
    return {
        "text": sentence.text,
        "citations": list(sentence.citations),
        "verified": bool(sentence.verified),
        "role": sentence.role,
    }


def _retrieved(item: ScoredChunk) -> dict[str, Any]:
    return {
        "chunk_id": item.chunk.id,
        "doc_id": item.chunk.doc_id,
        "source": str(item.chunk.meta.get("source", "")),
        "score": round(float(item.score), 4),
    }


def answer_to_json(
    answer: Answer, key_sources: Mapping[str, Sequence[KeySource]] | None = None
) -> dict[str, Any]:
    """The answer as a JSON-ready dict, exactly the keys documented for `ask --json`.

    Args:
        key_sources: the key sources of each cited document, by doc_id (`KeySource.all_in(meta)`);
            a citation of a document not in it gets an empty list.
    """
    key_sources = key_sources or {}
    return {
        "question": answer.question,
        "standalone_question": answer.standalone_question,
        "answer": answer.text,
        "abstained": bool(answer.abstained),
        "backend": answer.backend,
        "sentences": [_sentence(s) for s in answer.sentences],
        "citations": [_citation(c, key_sources.get(c.doc_id, ())) for c in answer.citations],
        "retrieved": [_retrieved(r) for r in answer.retrieved],
        "timings_ms": {key: round(float(answer.timings_ms.get(key, 0.0)), 1) for key in TIMING_KEYS},
        "index_fingerprint": answer.index_fingerprint,
    }
