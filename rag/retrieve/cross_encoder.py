"""The neural second stage: a cross-encoder that reads the question and a passage together.

The model is all-MiniLM-L6-v2 with a one-logit head, fine-tuned by training/train_reranker.py on
question-passage pairs mined from the libraries and exported to int8 ONNX (training/README.md).
It ships in rag/models/reranker/ with its tokenizer and a manifest holding the SHA-256 of the
weights; loading checks it, and the first 12 hex digits are the reranker's fingerprint, stamped
on every answer and evaluation report like the index fingerprint.

A chunk (~350 cl100k tokens) is longer than the 128 word pieces the model reads, so it reads the
chunk's window of 64 words that holds most of the question's terms (`read_window`). Training
builds its pairs from the same windows, so the model sees at run time what it learned on.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.errors import RerankerModelError
from rag.retrieve.terms import terms
from rag.types import Chunk, ScoredChunk

if TYPE_CHECKING:
    from rag.retrieve.rerank import Reranker

MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "reranker"
MANIFEST = "manifest.json"
# The model reads 128 word pieces: the question (~20), the heading (~15) and a window of 64 words
# (~90). A chunk (~270 words) is cut into windows every 32 words and the model reads the one
# holding most of the question's terms: one short window per passage keeps 12 passages at about
# 1,500 word pieces per question, which int8 ONNX scores in ~0.2 s on 2 idle cores.
WINDOW_WORDS = 64
WINDOW_STEP = 32
RETRAIN = "python training/train_reranker.py (see training/README.md)"
# The passages the model reads are ordered by logit + w x logit(feature-model probability). The
# weight w ships with the model: train_reranker.py measures each candidate on managers-dev and
# writes the best into manifest.json (`first_stage_weight`); this is the value for a manifest
# written before it did (the blend that equals the first stage's order for an uninformed model).
FIRST_STAGE_WEIGHT = 1.0


def passage_header(chunk: Chunk) -> str:
    """What the passage is part of: the document title and its section, when known."""
    title = str(chunk.meta.get("title") or "").strip()
    section = (chunk.section or "").strip()
    parts = [p for p in (title, section) if p]
    return " - ".join(parts)


def text_windows(text: str, header: str = "") -> list[str]:
    """Every window of WINDOW_WORDS words of `text` (one every WINDOW_STEP words), each prefixed
    with `header`; a short text is one window."""
    words = text.split()
    prefix = f"{header}\n" if header else ""
    if len(words) <= WINDOW_WORDS:
        return [prefix + " ".join(words)]
    last = len(words) - WINDOW_WORDS
    starts = [*range(0, last, WINDOW_STEP), last]
    return [prefix + " ".join(words[s : s + WINDOW_WORDS]) for s in starts]


def passage_windows(chunk: Chunk) -> list[str]:
    """Every window of `chunk` the model could read (training picks its pairs from these)."""
    return text_windows(chunk.text, passage_header(chunk))


def best_window(question: str, windows: list[str]) -> str:
    """The window holding most of the question's distinct terms (the first of equals)."""
    if len(windows) == 1:
        return windows[0]
    wanted = set(terms(question))
    return max(windows, key=lambda w: len(wanted & set(terms(w))))


def read_window(question: str, chunk: Chunk) -> str:
    """What the model reads of `chunk` for `question`."""
    return best_window(question, passage_windows(chunk))


@dataclass(frozen=True)
class RerankerManifest:
    """What manifest.json says about the shipped weights."""

    model_file: str
    sha256: str
    max_length: int
    tokenizer_file: str
    details: dict

    @property
    def fingerprint(self) -> str:
        return self.sha256[:12]

    @property
    def first_stage_weight(self) -> float:
        """The blend weight of the first stage's logit, as training chose it."""
        return float(self.details.get("first_stage_weight", FIRST_STAGE_WEIGHT))


def read_manifest(model_dir: Path = MODEL_DIR) -> RerankerManifest:
    """The manifest of the reranker in `model_dir`.

    Raises:
        RerankerModelError: the folder, manifest or a field is missing.
    """
    path = Path(model_dir) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return RerankerManifest(
            model_file=str(data["model_file"]),
            sha256=str(data["sha256"]),
            max_length=int(data["max_length"]),
            tokenizer_file=str(data["tokenizer_file"]),
            details=data,
        )
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise RerankerModelError(
            f"The neural reranker's weights are missing or unreadable ({path}: {exc}). Reinstall the "
            f"package, rebuild them with `{RETRAIN}`, or turn the neural stage off with "
            "CHANGEGUIDE_RETRIEVAL__NEURAL=false."
        ) from exc


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class CrossEncoderScorer:
    """Scores (question, text) pairs with the ONNX cross-encoder; thread-safe after construction."""

    def __init__(self, model_dir: Path = MODEL_DIR, threads: int = 1) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_dir = Path(model_dir)
        self.manifest = read_manifest(model_dir)
        weights = model_dir / self.manifest.model_file
        if not weights.is_file():
            raise RerankerModelError(
                f"The neural reranker's weights {weights} are missing. Reinstall the package, rebuild "
                f"them with `{RETRAIN}`, or set CHANGEGUIDE_RETRIEVAL__NEURAL=false."
            )
        actual = file_sha256(weights)
        if actual != self.manifest.sha256:
            raise RerankerModelError(
                f"The neural reranker's weights {weights} do not match their manifest (SHA-256 "
                f"{actual[:12]}, expected {self.manifest.sha256[:12]}): the file is damaged or was "
                f"replaced. Reinstall the package or rebuild them with `{RETRAIN}`."
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(weights), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        tokenizer = Tokenizer.from_file(str(model_dir / self.manifest.tokenizer_file))
        tokenizer.enable_truncation(max_length=self.manifest.max_length, strategy="only_second")
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._tokenizer = tokenizer
        self._lock = threading.Lock()  # the tokenizer's truncation state is shared

    @property
    def fingerprint(self) -> str:
        return self.manifest.fingerprint

    def score(self, question: str, texts: Sequence[str]) -> np.ndarray:
        """One logit per text: higher means the text answers the question better."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        with self._lock:
            encoded = self._tokenizer.encode_batch([(question, t) for t in texts])
        feeds = {
            "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
        }
        feeds = {k: v for k, v in feeds.items() if k in self._inputs}
        (logits,) = self._session.run(["logits"], feeds)
        return np.asarray(logits, dtype=np.float32).reshape(-1)

    def score_chunks(self, question: str, chunks: Sequence[Chunk]) -> np.ndarray:
        """One logit per chunk, for the window of it the model reads (`read_window`)."""
        return self.score(question, [read_window(question, c) for c in chunks])


@lru_cache(maxsize=4)
def shared_scorer(model_dir: Path = MODEL_DIR, threads: int = 1) -> CrossEncoderScorer:
    """One loaded model per folder and thread count per process (the app's sessions share it)."""
    return CrossEncoderScorer(model_dir, threads)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z > -500 else 0.0


def _logit(p: float) -> float:
    p = min(max(float(p), 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


class NeuralReranker:
    """First the feature reranker orders every candidate; then the cross-encoder reads the best
    `passages` of them and orders those by its logit. The rest follow in the feature order, below.

    Each of the top passages keeps the feature model's probability in `rerank_score` and gets the
    cross-encoder's logit in `neural_score`; `score` becomes sigmoid(logit + w x logit(first-stage
    score)), w the manifest's `first_stage_weight` unless `first_weight` is given.
    """

    def __init__(
        self,
        first: Reranker,
        scorer: CrossEncoderScorer,
        passages: int,
        first_weight: float | None = None,
    ) -> None:
        self.first = first
        self.first_weight = scorer.manifest.first_stage_weight if first_weight is None else first_weight
        self.scorer = scorer
        self.passages = passages

    @property
    def fingerprint(self) -> str:
        return self.scorer.fingerprint

    def warm(self) -> int:
        """Warm the first stage's caches and run the model once (its first run allocates).

        Returns what the first stage's warm returns: how many document profiles it embedded.
        """
        warm = getattr(self.first, "warm", None)
        embedded = warm() if warm is not None else 0
        self.scorer.score("warm up", ["the model's first run is slower"])
        return int(embedded or 0)

    def forget_others(self, doc_ids) -> None:
        """Pass on the engine's "documents were removed" to the first stage's caches."""
        forget = getattr(self.first, "forget_others", None)
        if forget is not None:
            forget(doc_ids)

    def rerank(self, query: str, candidates: Sequence[ScoredChunk], k: int) -> list[ScoredChunk]:
        ordered = self.first.rerank(query, candidates, len(candidates))
        if not ordered:
            return []
        head, tail = ordered[: self.passages], ordered[self.passages :]
        logits = self.scorer.score_chunks(query, [c.chunk for c in head])
        scored = [
            replace(c, score=_sigmoid(float(z) + self.first_weight * _logit(c.score)), neural_score=float(z))
            for c, z in zip(head, logits, strict=True)
        ]
        scored.sort(key=lambda c: -c.score)
        floor = min(c.score for c in scored)
        # Below every passage the model read, in the first stage's order.
        rest = [replace(c, score=floor * 0.5 * c.score) for c in tail]
        return (scored + rest)[:k]
