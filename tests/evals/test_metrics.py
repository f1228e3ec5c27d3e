"""Metrics on hand-made rankings and results, with values worked out by hand."""

from __future__ import annotations

import math

import pytest

from rag.evals.metrics import (
    CitationCheck,
    QuestionResult,
    aggregate,
    decision_of,
    distinct,
    first_relevant_rank,
    hit_at,
    ndcg_at,
    per_style,
    per_tag,
    percentile,
    phrase_found,
    reciprocal_rank,
    rouge_l_f1,
    strip_markers,
)

RANKING = ["d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10", "d11"]


def test_hit_at_k():
    assert hit_at(RANKING, {"d3"}, 1) == 0.0
    assert hit_at(RANKING, {"d3"}, 3) == 1.0
    assert hit_at(RANKING, {"d3"}, 5) == 1.0
    assert hit_at(RANKING, {"d11"}, 10) == 0.0, "rank 11 is outside the top 10"
    assert hit_at(RANKING, {"zz"}, 10) == 0.0
    assert hit_at([], {"d1"}, 5) == 0.0


def test_reciprocal_rank_is_cut_at_depth():
    assert reciprocal_rank(RANKING, {"d1"}) == 1.0
    assert reciprocal_rank(RANKING, {"d4", "d2"}) == 0.5, "the first gold document counts"
    assert reciprocal_rank(RANKING, {"d10"}) == pytest.approx(0.1)
    assert reciprocal_rank(RANKING, {"d11"}) == 0.0, "MRR@10 ignores rank 11"
    assert first_relevant_rank(RANKING, {"d11"}) == 11


def test_ndcg_known_values():
    # One gold document at rank 3: DCG = 1/log2(4) = 0.5, ideal = 1.
    assert ndcg_at(RANKING, {"d3"}, 10) == pytest.approx(0.5)
    assert ndcg_at(RANKING, {"d1"}, 10) == pytest.approx(1.0)
    # Two gold documents at ranks 1 and 3: DCG = 1 + 0.5; ideal = 1 + 1/log2(3).
    assert ndcg_at(RANKING, {"d1", "d3"}, 10) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    # Gold at rank 11 is outside the cut.
    assert ndcg_at(RANKING, {"d11"}, 10) == 0.0
    # More gold documents than k: the ideal ranking has only k of them.
    assert ndcg_at(["a", "b"], {"a", "b", "c"}, 2) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        ndcg_at(RANKING, set(), 10)


def test_distinct_turns_chunks_into_documents():
    assert distinct(["a", "a", "b", "a", "c", "b"]) == ["a", "b", "c"]


def test_text_helpers():
    assert (
        strip_markers("Shifts need six points. [1] Trends five [2, 3].")
        == "Shifts need six points. Trends five."
    )
    assert phrase_found(["A shift is six or more\nconsecutive points"], ["SIX OR MORE consecutive points"])
    assert not phrase_found(["nothing here"], ["six or more"])
    assert decision_of("Yes [1], telephone counselling helped. No harm was seen.") == "yes"
    assert decision_of("The evidence is mixed, so maybe. Later trials disagree.") == "maybe"
    assert decision_of("Telephone counselling helped. No harm was seen.") is None, (
        "only the first sentence counts"
    )
    assert rouge_l_f1("the cat sat on the mat [1]", "the cat sat on the mat") == pytest.approx(1.0)
    assert 0.0 < rouge_l_f1("a cat sat on a mat", "the cat sat on the mat") < 1.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert percentile([], 95) is None


def _citation(doc_id: str, gold: bool, excerpt: str = "text", verbatim: bool = True) -> CitationCheck:
    return CitationCheck(
        n=1,
        doc_id=doc_id,
        source=f"/lib/{doc_id}.md",
        title=doc_id,
        excerpt=excerpt,
        start=0,
        end=len(excerpt),
        score=0.9,
        verified=True,
        gold=gold,
        verbatim=verbatim,
        span_exact=verbatim,
    )


def _results() -> list[QuestionResult]:
    return [
        # Answered, gold at rank 1, one gold and one other citation, phrase found.
        QuestionResult(
            id="q1",
            question="?",
            tags=("measurement", "factual"),
            answerable=True,
            abstained=False,
            gold_doc_ids=("g1",),
            gold_phrases=("six points",),
            ranking=("g1", "x", "y"),
            citations=(_citation("g1", True, "needs six points"), _citation("x", False)),
            rouge_l_f1=0.5,
            latency_ms=100.0,
        ),
        # Answered, gold at rank 4, cites only the wrong document, phrase missed; an excerpt not verbatim.
        QuestionResult(
            id="q2",
            question="?",
            tags=("measurement", "how-to"),
            answerable=True,
            abstained=False,
            gold_doc_ids=("g2",),
            gold_phrases=("trend",),
            ranking=("a", "b", "c", "g2"),
            citations=(_citation("a", False, verbatim=False),),
            rouge_l_f1=0.25,
            latency_ms=200.0,
        ),
        # A false abstention: answerable, gold nowhere in the ranking.
        QuestionResult(
            id="q3",
            question="?",
            tags=("factual",),
            answerable=True,
            abstained=True,
            gold_doc_ids=("g3",),
            ranking=("a", "b"),
            latency_ms=300.0,
        ),
        # Out of scope, rightly abstained.
        QuestionResult(
            id="o1", question="?", tags=("out-of-scope",), answerable=False, abstained=True, latency_ms=400.0
        ),
        # Out of scope, wrongly answered.
        QuestionResult(
            id="o2",
            question="?",
            tags=("out-of-scope",),
            answerable=False,
            abstained=False,
            citations=(_citation("a", False),),
            latency_ms=500.0,
        ),
    ]


def test_aggregate_on_hand_made_results():
    report = aggregate(_results(), generative=False)
    r, c, a, lat = report["retrieval"], report["citations"], report["abstention"], report["latency_ms"]
    assert report["n_questions"] == 5 and report["n_answerable"] == 3
    assert r["n"] == 3
    assert r["hit@1"] == pytest.approx(1 / 3)
    assert r["hit@5"] == pytest.approx(2 / 3)
    assert r["mrr"] == pytest.approx((1 + 0.25 + 0) / 3)
    assert r["ndcg@10"] == pytest.approx((1 + 1 / math.log2(5) + 0) / 3)
    assert c["precision"] == pytest.approx(1 / 3), "one of three citations on answerable questions is gold"
    assert c["recall"] == pytest.approx(1 / 3), "one of three answerable questions cites a gold document"
    assert c["phrase_hit"] == pytest.approx(1 / 2), "q1 hits its phrase, q2 misses; q3 has none"
    assert c["verbatim"] == pytest.approx(3 / 4), "all four citations count, one is not verbatim"
    assert a["precision"] == pytest.approx(1 / 2), "abstained on q3 (wrong) and o1 (right)"
    assert a["recall"] == pytest.approx(1 / 2), "abstained on one of two out-of-scope questions"
    assert a["false_abstentions"] == pytest.approx(1 / 3)
    assert a["false_answers"] == pytest.approx(1 / 2)
    assert report["answer"]["rougeL_f1"] == pytest.approx(0.375)
    assert report["answer"]["yes_no_maybe_accuracy"] is None
    assert lat["p50"] == pytest.approx(300.0) and lat["p95"] == pytest.approx(480.0)


def test_yes_no_maybe_accuracy_only_with_a_generative_backend():
    results = [
        QuestionResult(
            id="p1", question="?", tags=(), answerable=True, expected_decision="yes", decision="yes"
        ),
        QuestionResult(
            id="p2", question="?", tags=(), answerable=True, expected_decision="no", decision="maybe"
        ),
    ]
    assert aggregate(results, generative=True)["answer"]["yes_no_maybe_accuracy"] == pytest.approx(0.5)
    extractive = aggregate(results, generative=False)["answer"]
    assert extractive["yes_no_maybe_accuracy"] is None
    assert "not applicable" in extractive["yes_no_maybe_note"]


def test_per_tag_figures():
    tags = per_tag(_results(), generative=False)
    assert set(tags) == {"measurement", "factual", "how-to", "out-of-scope"}
    assert tags["measurement"]["n"] == 2
    assert tags["measurement"]["hit@1"] == pytest.approx(0.5)
    assert tags["factual"]["abstention_correct"] == pytest.approx(0.5), (
        "q1 answered (right), q3 abstained (wrong)"
    )
    assert tags["out-of-scope"]["abstention_correct"] == pytest.approx(0.5)
    assert tags["out-of-scope"]["hit@5"] is None, "no retrieval figures without answerable questions"


def test_per_style_figures_count_passages_citations_and_abstentions():
    from dataclasses import replace

    base = _results()
    styled = [
        replace(base[0], style="situation", passage_docs=("g1", "a")),
        replace(base[1], style="situation", passage_docs=("a", "b")),
        replace(base[2], style="typo", passage_docs=()),
        replace(base[3], style="situation"),
        replace(base[4], style="typo"),
    ]
    styles = per_style(styled, generative=False)
    assert list(styles) == ["situation", "typo", "all"], styles
    situation = styles["situation"]
    assert (situation["n_answerable"], situation["n_out_of_scope"]) == (2, 1)
    assert situation["gold_retrieved"] == pytest.approx(0.5), "q1's gold is among its passages, q2's is not"
    assert situation["false_abstentions"] == 0.0 and situation["out_of_scope_declined"] == 1.0
    typo = styles["typo"]
    assert typo["gold_retrieved"] == 0.0 and typo["false_abstentions"] == 1.0
    assert typo["out_of_scope_declined"] == 0.0, "o2 was answered"
    assert styles["all"]["gold_retrieved"] == pytest.approx(1 / 3)
    assert per_style(base, generative=False) == {}, "a set without styles has no style table"
