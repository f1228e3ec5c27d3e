"""The two embedding runtimes: the int8 ONNX export and the fp32 torch model, on real text."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from rag.config import EmbeddingSettings, Settings
from rag.errors import ConfigError, FingerprintMismatchError
from rag.index.embedding import SentenceTransformerEmbedder, make_embedder
from rag.index.onnx_embedding import OnnxEmbedder, verified_model_path
from rag.ingest.chunking import chunk_document
from rag.ingest.loaders import loader_for
from tests.conftest import CORPUS

INT8 = EmbeddingSettings(runtime="onnx-int8", threads=1)
BRIEFS = ("run-charts.md", "psychological-safety.md", "kotter-eight-steps.md")


@pytest.fixture(scope="module")
def onnx_embedder() -> OnnxEmbedder:
    return OnnxEmbedder(INT8)


@pytest.fixture(scope="module")
def passages() -> list[str]:
    """Real chunks of three briefs, as ingestion makes them, plus a few odd texts."""
    settings = Settings()
    texts = []
    for name in BRIEFS:
        path = CORPUS / name
        texts += [c.text for c in chunk_document(loader_for(path)(path, settings), settings.chunking)]
    return [*texts, "PDSA", "  a text with spaces around it  ", "Run chart: shift; 6 points; median."]


def test_make_embedder_picks_the_runtime(onnx_embedder, embedder):
    assert isinstance(make_embedder(INT8), OnnxEmbedder)
    assert isinstance(make_embedder(EmbeddingSettings(runtime="torch")), SentenceTransformerEmbedder)


@pytest.mark.parametrize("runtime", ["onnx-int8", "torch"])
def test_both_runtimes_embed_real_text_as_unit_vectors(runtime, onnx_embedder, embedder, passages):
    model = onnx_embedder if runtime == "onnx-int8" else embedder
    vectors = model.embed_batch(passages)
    assert vectors.shape == (len(passages), 384), f"{runtime}: shape {vectors.shape}"
    assert vectors.dtype == np.float32
    norms = np.linalg.norm(vectors, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-4), f"{runtime}: norms {norms.min()}..{norms.max()}"
    assert model.embed_batch([]).shape == (0, 384)


def test_int8_vectors_match_the_fp32_model_on_real_text(onnx_embedder, embedder, passages):
    cosine = (onnx_embedder.embed_batch(passages) * embedder.embed_batch(passages)).sum(axis=1)
    worst = int(cosine.argmin())
    assert cosine.min() > 0.98, f"cosine {cosine.min():.4f} on {passages[worst][:80]!r}"
    assert cosine.mean() > 0.995, f"mean cosine {cosine.mean():.4f}"


def test_int8_vectors_do_not_depend_on_batching(onnx_embedder, passages):
    together = onnx_embedder.embed_batch(passages)
    alone = np.vstack([onnx_embedder.embed_batch([text]) for text in passages[:5]])
    assert np.allclose(together[:5], alone, atol=1e-5), "padding a batch changed its vectors"


def test_both_runtimes_count_the_same_word_pieces(onnx_embedder, embedder, passages):
    for text in passages[:5]:
        assert onnx_embedder.count_tokens(text) == embedder.count_tokens(text), text[:60]


def test_runtimes_give_different_fingerprints():
    torch_settings, int8_settings = Settings(), Settings(embedding=INT8)
    assert torch_settings.fingerprint() != int8_settings.fingerprint()
    assert int8_settings.fingerprint_details()["embedding"]["runtime"] == "onnx-int8"
    # torch's details are those of indexes built before the runtime setting existed.
    assert torch_settings.fingerprint_details()["embedding"] == {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "max_seq_length": 256,
    }
    # Threads change speed, not vectors.
    assert Settings(embedding=EmbeddingSettings(runtime="onnx-int8", threads=2)).fingerprint() == (
        int8_settings.fingerprint()
    )


def test_an_index_built_with_one_runtime_refuses_the_other(tmp_path):
    from rag.index.store import Index

    directory = tmp_path / "index"
    Index.open(Settings().with_index_dir(directory), create=True).close()
    with pytest.raises(FingerprintMismatchError, match="runtime"):
        Index.open(Settings(embedding=INT8).with_index_dir(directory))


def test_a_tampered_model_file_is_refused(tmp_path):
    copy = tmp_path / "model.onnx"
    shutil.copy(verified_model_path(INT8), copy)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match="sha256.*force-reinstall"):
        OnnxEmbedder(EmbeddingSettings(runtime="onnx-int8", onnx_model_path=copy))


def test_a_missing_model_file_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="missing.*RUNTIME=torch"):
        OnnxEmbedder(EmbeddingSettings(runtime="onnx-int8", onnx_model_path=tmp_path / "gone.onnx"))


def test_onnx_runtime_runs_only_the_bundled_model(tmp_path):
    with pytest.raises(ConfigError, match="RUNTIME=torch"):
        OnnxEmbedder(EmbeddingSettings(runtime="onnx-int8", model_path=tmp_path))
