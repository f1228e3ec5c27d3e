"""Reciprocal rank fusion on hand-made rankings."""

from __future__ import annotations

import pytest

from rag.retrieve.fusion import RRF_K, reciprocal_rank_fusion


def test_scores_are_the_sum_of_reciprocal_ranks():
    fused = dict(reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]]))
    assert fused["a"] == pytest.approx(1 / (RRF_K + 1)), "a is first in one ranking only"
    assert fused["b"] == pytest.approx(1 / (RRF_K + 2) + 1 / (RRF_K + 1)), "b is 2nd and 1st"
    assert fused["c"] == pytest.approx(1 / (RRF_K + 3))
    assert fused["d"] == pytest.approx(1 / (RRF_K + 2))


def test_agreement_beats_one_first_place():
    fused = [item for item, _ in reciprocal_rank_fusion([["x", "both"], ["y", "both"]])]
    assert fused[0] == "both", f"an item ranked 2nd by both retrievers should win, got {fused}"


def test_ties_break_by_best_single_rank_then_first_seen():
    # p and q both score 1/(k+1) + 0; r scores 1/(k+2) + 1/(k+2) which is higher than either.
    fused = [item for item, _ in reciprocal_rank_fusion([["p", "r"], ["q", "r"]])]
    assert fused == ["r", "p", "q"], f"unexpected order {fused}"
    # s and t have identical rank sets, so equal sums and equal best ranks.
    fused = [item for item, _ in reciprocal_rank_fusion([["s", "t"], ["t", "s"]])]
    assert fused == ["s", "t"], f"an exact tie keeps first appearance, got {fused}"


def test_duplicates_count_once_at_their_best_rank():
    fused = dict(reciprocal_rank_fusion([["a", "a", "b"]]))
    assert fused["a"] == pytest.approx(1 / (RRF_K + 1)), "a repeated must not score twice"
    assert fused["b"] == pytest.approx(1 / (RRF_K + 3)), "b keeps its position in the ranking"


def test_empty_and_single_rankings():
    assert reciprocal_rank_fusion([]) == []
    assert reciprocal_rank_fusion([[], []]) == []
    assert [i for i, _ in reciprocal_rank_fusion([["a", "b", "c"], []])] == ["a", "b", "c"], (
        "one empty ranking leaves the other's order"
    )


def test_weights_and_k():
    fused = [i for i, _ in reciprocal_rank_fusion([["a", "b"], ["b", "a"]], weights=[2.0, 1.0])]
    assert fused == ["a", "b"], "the heavier ranking decides a symmetric conflict"
    fused = dict(reciprocal_rank_fusion([["a"]], k=0))
    assert fused["a"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="weights"):
        reciprocal_rank_fusion([["a"]], weights=[1.0, 2.0])
    with pytest.raises(ValueError, match=">= 0"):
        reciprocal_rank_fusion([["a"]], k=-1)
