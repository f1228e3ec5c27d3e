"""The neural second stage: the shipped ONNX cross-encoder, its manifest check, windows and ordering."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from rag.errors import RerankerModelError
from rag.retrieve.cross_encoder import (
    MODEL_DIR,
    WINDOW_WORDS,
    CrossEncoderScorer,
    NeuralReranker,
    RerankerManifest,
    best_window,
    file_sha256,
    read_manifest,
    shared_scorer,
    text_windows,
)
from rag.retrieve.rerank import FusionOrder
from rag.types import Chunk, ScoredChunk


@pytest.fixture(scope="module")
def scorer() -> CrossEncoderScorer:
    return shared_scorer(MODEL_DIR, 1)


def test_shipped_model_loads_and_its_manifest_describes_it(scorer):
    manifest = read_manifest()
    assert manifest.sha256 == file_sha256(MODEL_DIR / manifest.model_file)
    assert scorer.fingerprint == manifest.sha256[:12]
    for key in ("command", "seed", "training_data_sha256", "figures", "base_model"):
        assert key in manifest.details, f"manifest.json lacks {key!r}"
    size_mb = (MODEL_DIR / manifest.model_file).stat().st_size / 1e6
    assert size_mb < 40, f"the shipped weights are {size_mb:.0f} MB; the int8 export is ~23 MB"


def test_a_passage_that_answers_scores_above_an_unrelated_one(scorer):
    question = "How many points in a row above the median show a shift on a run chart?"
    answer = (
        "Run charts - Rules for reading a run chart\nA shift is six or more consecutive points all above "
        "or all below the median; points on the median neither break nor add to a shift."
    )
    unrelated = (
        "Compassionate leadership - Overview\nCompassionate leaders attend to their staff, understand "
        "their situation, empathise and act to help them."
    )
    logits = scorer.score(question, [answer, unrelated])
    assert logits[0] > logits[1] + 1.0, logits


def test_weights_that_do_not_match_the_manifest_are_a_clear_error(tmp_path):
    copy = tmp_path / "reranker"
    shutil.copytree(MODEL_DIR, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["sha256"] = "0" * 64
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RerankerModelError, match="do not match their manifest.*Reinstall"):
        CrossEncoderScorer(copy)


def test_missing_weights_name_the_fix(tmp_path):
    with pytest.raises(RerankerModelError, match="CHANGEGUIDE_RETRIEVAL__NEURAL=false"):
        CrossEncoderScorer(tmp_path / "nowhere")
    copy = tmp_path / "reranker"
    shutil.copytree(MODEL_DIR, copy)
    (copy / "model.onnx").unlink()
    with pytest.raises(RerankerModelError, match="missing"):
        CrossEncoderScorer(copy)


def test_windows_cover_every_word_and_the_best_holds_the_question_terms():
    words = [f"w{i}" for i in range(300)]
    windows = text_windows(" ".join(words), "Title")
    assert all(w.startswith("Title\n") for w in windows)
    seen = {word for w in windows for word in w.split("\n", 1)[1].split()}
    assert seen == set(words), "some words are in no window"
    assert all(len(w.split("\n", 1)[1].split()) <= WINDOW_WORDS for w in windows)
    text = " ".join(words[:200] + ["funnel", "plot", "control", "limits"] + words[200:])
    chosen = best_window("What are the control limits of a funnel plot?", text_windows(text))
    assert "funnel plot control limits" in chosen


class _FakeScorer:
    fingerprint = "fake"
    manifest = RerankerManifest("model.onnx", "fake", 128, "tokenizer.json", {"first_stage_weight": 1.0})

    def __init__(self, logits: dict[str, float]) -> None:
        self.logits = logits
        self.read: list[str] = []

    def score_chunks(self, question, chunks):
        self.read += [c.id for c in chunks]
        return np.array([self.logits[c.id] for c in chunks], dtype=np.float32)


def _candidate(name: str, score: float) -> ScoredChunk:
    return ScoredChunk(Chunk(id=name, doc_id=f"doc-{name}", text=f"text {name}", start=0, end=6), score)


def test_the_model_reorders_the_passages_it_reads_and_the_rest_follow():
    candidates = [_candidate("a", 0.9), _candidate("b", 0.8), _candidate("c", 0.7), _candidate("d", 0.6)]
    scorer = _FakeScorer({"a": -2.0, "b": 3.0, "c": 1.0})
    ranked = NeuralReranker(FusionOrder(), scorer, passages=3).rerank("q", candidates, 4)  # type: ignore[arg-type]
    assert [c.chunk.id for c in ranked] == ["b", "c", "a", "d"]
    assert scorer.read == ["a", "b", "c"], "only the first stage's best three are read"
    assert [c.neural_score for c in ranked] == [3.0, 1.0, -2.0, None]
    assert ranked[3].score < ranked[2].score, "an unread passage ranks below every read one"
