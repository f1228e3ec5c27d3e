"""The JSON shape of an answer, exactly as documented for `ask --json`."""

from __future__ import annotations

import json

import pytest

from rag.answer.serialize import answer_to_json

TOP_KEYS = {
    "question": str,
    "standalone_question": str,
    "answer": str,
    "abstained": bool,
    "backend": str,
    "sentences": list,
    "citations": list,
    "retrieved": list,
    "timings_ms": dict,
    "index_fingerprint": str,
    "reranker_fingerprint": str,  # the neural second stage's weights ("" when it is off)
}
CITATION_KEYS = {
    "n": (int,),
    "doc_id": (str,),
    "title": (str,),
    "source": (str,),
    "page": (int, type(None)),
    "page_end": (int, type(None)),
    "section": (str, type(None)),
    "excerpt": (str,),
    "start": (int,),
    "end": (int,),
    "score": (float,),
    "verified": (bool,),
    "also_in": (list,),
    "ocr": (bool,),  # the excerpt is OCR text of a scanned page
    "key_sources": (list,),
}
SENTENCE_KEYS = {"text": (str,), "citations": (list,), "verified": (bool,), "role": (str,)}
RETRIEVED_KEYS = {"chunk_id": (str,), "doc_id": (str,), "source": (str,), "score": (float,)}


def _check(obj: dict, shape: dict, where: str) -> None:
    assert set(obj) == set(shape), f"{where}: keys {sorted(obj)} != {sorted(shape)}"
    for key, types in shape.items():
        types = types if isinstance(types, tuple) else (types,)
        assert type(obj[key]) in types, f"{where}.{key}: {type(obj[key]).__name__} not in {types}"


@pytest.mark.parametrize(
    ("question", "abstains"),
    [("How should I read a funnel plot?", False), ("How do I make a creamy mushroom risotto?", True)],
)
def test_json_has_exactly_the_documented_shape(answer_engine, question, abstains):
    answer = answer_engine.ask(question)
    data = json.loads(json.dumps(answer_to_json(answer)))  # survives a real JSON round trip
    _check(data, TOP_KEYS, "answer")
    assert data["abstained"] is abstains and data["question"] == question
    assert data["index_fingerprint"] == answer_engine.index.fingerprint
    assert set(data["timings_ms"]) == {"retrieve", "rerank", "answer", "total"}
    assert all(isinstance(v, float) and v >= 0 for v in data["timings_ms"].values()), data["timings_ms"]
    assert data["retrieved"], "the retrieved passages are listed even when abstaining"
    for i, item in enumerate(data["retrieved"]):
        _check(item, RETRIEVED_KEYS, f"retrieved[{i}]")
        assert item["source"].endswith(".md"), f"source should be the ingested path: {item['source']!r}"
    assert bool(data["citations"]) is not abstains
    assert bool(data["sentences"]) is not abstains
    numbers = {c["n"] for c in data["citations"]}
    for i, s in enumerate(data["sentences"]):
        _check(s, SENTENCE_KEYS, f"sentences[{i}]")
        assert s["role"] in ("lead", "point") and set(s["citations"]) <= numbers, s
    if not abstains:
        assert data["sentences"][0]["role"] == "lead", "the answer opens with a lead sentence"
    for c in data["citations"]:
        _check(c, CITATION_KEYS, f"citations[{c['n']}]")
        document = answer_engine.index.document_text(c["doc_id"])
        assert document[c["start"] : c["end"]] == c["excerpt"], f"[{c['n']}] excerpt span"
