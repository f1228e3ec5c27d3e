"""The two embedding runtimes side by side: int8 ONNX vs fp32 torch, agreement and throughput.

Usage: python benchmarks/bench_embedding.py [--texts 384] [--rounds 2] [--threads 1 2]
       python benchmarks/bench_embedding.py --texts 96 --batch-sizes 4 8 16 32

Chunks real passages from corpus/ and ../shared/docs (the Markdown, HTML, DOCX, PPTX and typed
PDFs; the scans are left out, OCR is not what is measured) with the default chunking settings,
then prints:
- the cosine between each passage's int8 and fp32 vectors (min, 1st percentile, mean), and how
  often both runtimes agree on each passage's nearest neighbour among the others;
- chunks/s of `embed_batch` for each runtime at each thread count, wall clock and per CPU
  second, rounds interleaved so that a busy machine slows both alike.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402

from rag.config import EmbeddingSettings, Settings  # noqa: E402
from rag.ingest.chunking import chunk_document  # noqa: E402
from rag.ingest.loaders import loader_for  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DOCS = REPO.parent / "shared" / "docs"
SKIP = ("scan", ".csv", ".xlsx", "LICENSE", "licence", "MANIFEST", "README")  # scans, data tables, notices


def real_passages(settings: Settings, limit: int | None = None) -> list[str]:
    """Chunk texts of corpus/ and the typed shared documents, in a fixed order (the first `limit` or more)."""
    files = sorted((REPO / "corpus").glob("*.md")) + sorted(
        p for p in SHARED_DOCS.iterdir() if loader_for(p) is not None and not any(s in p.name for s in SKIP)
    )
    texts: list[str] = []
    for path in files:
        if limit is not None and len(texts) >= limit:
            break
        try:
            doc = loader_for(path)(path, settings)
        except Exception as exc:  # a benchmark reads what it can
            print(f"  skipped {path.name}: {exc}", file=sys.stderr)
            continue
        texts += [c.text for c in chunk_document(doc, settings.chunking)]
    return texts


def make(runtime: str, threads: int):
    from rag.index.embedding import make_embedder

    if runtime == "torch":
        import torch

        torch.set_num_threads(threads)  # process-wide: the torch embedder has no setting of its own
    return make_embedder(EmbeddingSettings(runtime=runtime, threads=threads))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=384, help="passages per throughput round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--no-agreement", action="store_true", help="throughput only (skip the cosines)")
    parser.add_argument(
        "--batch-sizes", type=int, nargs="*", default=[], help="sweep the ONNX embedder's batch size only"
    )
    args = parser.parse_args(argv[1:])

    settings = Settings()
    texts = real_passages(settings, args.texts if args.no_agreement else None)
    print(
        f"passages: {len(texts)} (corpus/ and the typed documents of ../shared/docs, chunk_tokens "
        f"{settings.chunking.chunk_tokens}); cpus: {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}"
    )

    if args.batch_sizes:
        return sweep_batch_sizes(texts[: args.texts], args.batch_sizes, args.rounds)
    embedders = {(r, n): make(r, n) for r in ("onnx-int8", "torch") for n in args.threads}
    if not args.no_agreement:
        import torch

        torch.set_num_threads(args.threads[0])
        fp32 = embedders[("torch", args.threads[0])].embed_batch(texts)
        int8 = embedders[("onnx-int8", args.threads[0])].embed_batch(texts)
        cos = (fp32 * int8).sum(axis=1)
        print(
            f"cosine int8 vs fp32: min {cos.min():.4f}, 1st percentile {np.percentile(cos, 1):.4f}, "
            f"mean {cos.mean():.4f}"
        )
        agree = _neighbour_agreement(fp32, int8)
        print(f"nearest other passage the same in both runtimes: {agree:.1%}")

    sample = texts[: args.texts]
    embedders[("torch", args.threads[0])].embed_batch(sample[:32])  # warm-up
    wall: dict[tuple[str, int], list[float]] = {k: [] for k in embedders}
    cpu: dict[tuple[str, int], list[float]] = {k: [] for k in embedders}
    for _ in range(args.rounds):
        for (runtime, threads), embedder in embedders.items():
            if runtime == "torch":
                import torch

                torch.set_num_threads(threads)
            w0, c0 = time.perf_counter(), time.process_time()
            embedder.embed_batch(sample)
            wall[(runtime, threads)].append(time.perf_counter() - w0)
            cpu[(runtime, threads)].append(time.process_time() - c0)
    print(f"\nthroughput on {len(sample)} passages, best of {args.rounds} rounds:")
    print("| runtime | threads | chunks/s (wall) | chunks per CPU second |")
    print("|---|---|---|---|")
    for key in embedders:
        print(
            f"| {key[0]} | {key[1]} | {len(sample) / min(wall[key]):.1f} | {len(sample) / min(cpu[key]):.1f} |"
        )
    return 0


def sweep_batch_sizes(sample: list[str], sizes: list[int], rounds: int) -> int:
    """CPU per text and chunks/s of the ONNX embedder at each batch size (its MAX_BATCH cap lifted)."""
    from rag.index import onnx_embedding
    from rag.index.embedding import make_embedder

    onnx_embedding.MAX_BATCH = max(sizes)
    print(f"\nonnx-int8, default threads, {len(sample)} passages, best of {rounds} rounds:")
    print("| batch | chunks/s (wall) | ms of CPU a text |")
    print("|---|---|---|")
    for size in sizes:
        embedder = make_embedder(EmbeddingSettings(runtime="onnx-int8", batch_size=size))
        embedder.embed_batch(sample[:size])  # warm-up
        walls, cpus = [], []
        for _ in range(rounds):
            w0, c0 = time.perf_counter(), time.process_time()
            embedder.embed_batch(sample)
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
        print(
            f"| {size} | {len(sample) / min(walls):.1f} | {1000 * min(cpus) / len(sample):.0f} |", flush=True
        )
    return 0


def _neighbour_agreement(a: np.ndarray, b: np.ndarray) -> float:
    sa, sb = a @ a.T, b @ b.T
    np.fill_diagonal(sa, -2.0)
    np.fill_diagonal(sb, -2.0)
    return float(np.mean(sa.argmax(axis=1) == sb.argmax(axis=1)))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
