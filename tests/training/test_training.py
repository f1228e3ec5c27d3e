"""The training scripts' pure parts: the PubMedQA split, the pairs file hash, folds, the threshold and
the abstention check's figures."""

from __future__ import annotations

import json
import sys
from collections import namedtuple
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))

from check_abstention import auc, check  # noqa: E402
from fit_abstention import choose_threshold, folds_of  # noqa: E402
from mining import (  # noqa: E402
    ANSWER_REMOVED_MIN_WORDS,
    Pair,
    normalise,
    pubmed_split,
    read_pairs,
    without_answer,
    write_pairs,
)

Record = namedtuple("Record", "pmid")


def test_pubmedqa_halves_are_fixed_disjoint_and_cover_every_record():
    records = [Record(str(p)) for p in (30, 10, 50, 20, 40, 60)]
    train, held = pubmed_split(records)
    assert [r.pmid for r in train] == ["10", "30", "50"] and [r.pmid for r in held] == ["20", "40", "60"]
    assert pubmed_split(list(reversed(records))) == (train, held), "the split must not depend on file order"


def test_pairs_round_trip_and_their_hash_follows_the_content(tmp_path):
    pairs = [Pair("q1", "dev", "What is a run chart?", "A run chart ...", 1)]
    first = write_pairs(pairs, tmp_path / "a.jsonl")
    assert read_pairs(tmp_path / "a.jsonl") == pairs
    assert write_pairs(pairs, tmp_path / "b.jsonl") == first
    assert write_pairs([*pairs, Pair("q1", "dev", "x", "y", 0)], tmp_path / "c.jsonl") != first


def test_folds_are_seeded_and_balanced():
    folds = folds_of(23, 5, seed=13)
    assert np.array_equal(folds, folds_of(23, 5, seed=13))
    assert not np.array_equal(folds, folds_of(23, 5, seed=14))
    assert sorted(np.bincount(folds)) == [4, 4, 5, 5, 5]


def test_the_threshold_keeps_false_abstentions_within_the_limit():
    rng = np.random.default_rng(0)
    p = np.concatenate([rng.uniform(0.3, 1.0, 100), rng.uniform(0.0, 0.5, 30)])
    y = np.concatenate([np.ones(100), np.zeros(30)])
    t = choose_threshold(p, y, 0.03)
    assert (p[y == 1] < t).sum() <= 3
    assert (p[y == 1] < np.nextafter(t, 2)).sum() > 3 or t == 1.0, (
        "the threshold should be as high as allowed"
    )


RUN_CHART = (
    "A run chart plots a measure over time with its median as the centre line, so a team can see "
    "whether a change is followed by a shift rather than by noise. Six or more consecutive points "
    "above or below the median signal a shift. Points on the median neither add to nor break a run. "
    "Teams should annotate the chart with each change they test, so that the reader can link a "
    "shift to what was done on the ward and when it was done."
)


def test_an_answer_removed_passage_keeps_the_topic_and_loses_every_sentence_of_the_answer():
    phrase = normalise("Six or more consecutive points")
    left = without_answer(RUN_CHART, [phrase])
    assert left is not None and "median as the centre line" in left and "annotate the chart" in left
    assert "consecutive" not in left, left
    # A phrase running over a sentence boundary takes out both sentences.
    across = normalise("signal a shift. Points on the median")
    left = without_answer(RUN_CHART, [across])
    assert left is not None and "consecutive" not in left and "neither add" not in left, left


def test_no_answer_removed_passage_without_the_phrase_or_with_too_little_left():
    assert without_answer(RUN_CHART, [normalise("a phrase the text does not hold")]) is None
    whole = normalise(RUN_CHART[: RUN_CHART.index(" Teams should")])
    assert len(RUN_CHART.split()) - len(whole.split()) < ANSWER_REMOVED_MIN_WORDS
    assert without_answer(RUN_CHART, [whole]) is None, "what is left is a fragment, not a passage"


def test_auc_counts_pairs_ranked_right_and_ties_as_half():
    assert auc(np.array([0.9, 0.8]), np.array([0.1, 0.2])) == 1.0
    assert auc(np.array([0.1]), np.array([0.9])) == 0.0
    assert auc(np.array([0.5, 0.9]), np.array([0.5])) == 0.75
    assert auc(np.array([]), np.array([0.5])) is None


def test_the_check_applies_the_model_file_threshold_and_support_floors(tmp_path):
    from rag.models.linear import fit_logistic

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(1.0, 0.3, (20, 1)), rng.normal(-1.0, 0.3, (20, 1))])
    y = np.array([1.0] * 20 + [0.0] * 20)
    entry = fit_logistic(x, y, ("ce_top",), name="abstain", l2=1.0).to_json()
    entry["threshold"] = 0.5
    # The support floors: below both, a question is declined whatever the model says.
    entry["support_floors"] = {"best_cosine": 0.3, "passage_coverage": 0.4}
    path = tmp_path / "abstain.json"
    path.write_text(json.dumps({"abstain": entry}), encoding="utf-8")

    def row(answerable: bool, style: str, ce_top: float, below_floors: bool) -> dict:
        support = 0.1 if below_floors else 0.9
        features = {"ce_top": ce_top, "best_cosine": support, "passage_coverage": support}
        return {"answerable": answerable, "style": style, "features": features}

    rows = [
        row(True, "typo", 1.2, False),
        row(True, "typo", 0.9, True),  # model yes, floor no
        row(False, "situation", -1.0, True),
        row(False, "situation", 1.5, False),  # answered
    ]
    figures = check(rows, path)
    assert figures["threshold"] == 0.5
    assert figures["all"] == {
        "answerable": 2,
        "out_of_scope": 2,
        "false_abstentions": 0.5,
        "out_of_scope_declined": 0.5,
    }
    assert figures["per_style"]["typo"]["false_abstentions"] == 0.5
    assert figures["per_style"]["situation"]["false_abstentions"] is None
    # p: answerable 1.2 -> high, 0.9 -> 0 (floored); out of scope -1.0 -> 0 (floored), 1.5 -> higher.
    # Pairs: high > 0 (1), high < higher (0), 0 = 0 (a tie, 1/2), 0 < higher (0): 1.5 of 4.
    assert figures["auc"] == 0.375


def test_sentence_window_features_take_the_best_windows_and_survive_an_empty_read():
    from try_sentence_windows import NO_SCORE, WINDOW_FEATURES, window_features

    row = {
        "read": [
            {"sentences": [0.5, 2.0, -1.0], "pairs": [1.5, 0.0]},
            {"sentences": [3.0], "pairs": []},
        ],
        "shortlist": {"alone": [1.0, -2.0], "with_next": [0.5]},
    }
    got = window_features(row)
    assert set(got) == set(WINDOW_FEATURES)
    assert got["sentence_max"] == 3.0 and got["pair_max"] == 1.5 and got["window_max"] == 3.0
    assert got["top_passage_sentence_max"] == 2.0, "the first passage is the one the model rated best"
    assert got["sentence_mean3"] == (3.0 + 2.0 + 0.5) / 3
    assert got["shortlist_max"] == 1.0 and got["shortlist_next_max"] == 0.5
    empty = window_features({"read": [], "shortlist": {"alone": [], "with_next": []}})
    assert set(empty.values()) == {NO_SCORE}
