"""Warm query latency of `ChangeGuide.ask` (extractive), stage by stage, as the library grows.

    .venv/bin/python benchmarks/bench_query.py [--sizes 1000 10000 100000] [--rounds 3] [--work DIR]

1. The starter library: corpus/ ingested into a fresh index with the real pipeline.
2. Synthetic libraries of the given chunk counts, built up in one index: chunks recombine
   corpus sentences; a sample of them is embedded with the real model and the rest get
   perturbed copies of those vectors (embedding 100k real chunks would take hours on 2 cores).
   They go straight through `Index.add_document` in big documents.

Each question is asked once per round after a warm-up; the query-embedding cache is cleared
before every ask, so each ask pays for its embedding. Model loading is excluded. Besides wall
time per stage, "cpu" is the process CPU time per ask: on a machine shared with other work it
shows what an ask costs without the wait for a core.
Targets (2 cores): p95 total <= 300 ms on the starter library, <= 600 ms at 100k chunks.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rag.config import Settings  # noqa: E402
from rag.types import Chunk, SourceDocument, content_hash  # noqa: E402

STAGES = ("retrieve", "rerank", "answer", "total", "cpu")
CHUNKS_PER_DOC = 250  # synthetic documents are long, so few add_document calls build a big library
REAL_SAMPLE = 300  # synthetic chunks embedded with the real model; the rest perturb these vectors
NOISE = 0.5  # norm of the Gaussian perturbation added to a sampled unit vector before re-normalising
TOPICS = ("measurement", "leadership", "improvement-methods", "productivity", "co-production")

FALLBACK_QUESTIONS = (
    "What is a run chart and how do I read one?",
    "How do funnel plots differ from league tables?",
    "Why do improvements decay after a project ends?",
    "What is the Model for Improvement?",
    "How can clinical microsystems improve care?",
    "What does compassionate leadership mean for managers?",
    "How should we measure NHS productivity?",
    "What are balancing measures?",
)


def questions(path: Path) -> list[str]:
    if not path.exists():
        return list(FALLBACK_QUESTIONS)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["question"] for r in rows if r.get("answerable")] or list(FALLBACK_QUESTIONS)


def percentile_table(label: str, n_chunks: int, timings: list[dict[str, float]]) -> dict:
    row = {"library": label, "chunks": n_chunks, "asks": len(timings)}
    for stage in STAGES:
        values = np.array([t[stage] for t in timings])
        row[f"{stage}_p50"] = float(np.percentile(values, 50))
        row[f"{stage}_p95"] = float(np.percentile(values, 95))
    return row


def measure(engine, qs: list[str], rounds: int) -> list[dict[str, float]]:
    """Stage timings of each ask, plus "cpu": the process CPU time it used (all threads).

    On a shared machine wall time includes waiting for a core; CPU time does not, and on an
    idle machine a CPU-bound ask takes at most that long (torch may use both cores at once).
    """
    engine.reranker.warm()  # embed every document's profile once, as a long-running app will have
    for q in qs[:3]:  # warm-up: first-call costs (BM25 load, caches, lazy imports)
        engine.ask(q)
    timings = []
    for _ in range(rounds):
        for q in qs:
            engine.embedder.clear()
            cpu = time.process_time()
            row = dict(engine.ask(q).timings_ms)
            row["cpu"] = (time.process_time() - cpu) * 1000
            timings.append(row)
    return timings


def corpus_sentences(corpus: Path) -> list[str]:
    sentences = []
    for path in sorted(corpus.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        if text.startswith("---"):
            text = text.split("---", 2)[-1]
        for para in text.split("\n\n"):
            if para.lstrip().startswith(("#", "|", "-", "*")):
                continue
            sentences.extend(s for s in re.split(r"(?<=[.!?])\s+", para.replace("\n", " ")) if len(s) > 40)
    return sentences


class SyntheticLibrary:
    """Adds synthetic documents to an index until it holds the requested number of chunks."""

    def __init__(self, index, embedder, sentences: list[str], seed: int = 0) -> None:
        self.index = index
        self.rng = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        self.sentences = sentences
        self.n_docs = 0
        self.n_chunks = 0
        sample = [self._chunk_text() for _ in range(REAL_SAMPLE)]
        started = time.perf_counter()
        self.base = embedder.embed_batch(sample)
        print(
            f"embedded {len(sample)} real synthetic chunks in {time.perf_counter() - started:.0f} s",
            flush=True,
        )

    def _chunk_text(self) -> str:
        return " ".join(self.rng.sample(self.sentences, self.rng.randint(8, 12)))

    def _vectors(self, n: int) -> np.ndarray:
        base = self.base[self.np_rng.integers(0, len(self.base), n)]
        noisy = base + self.np_rng.normal(0.0, NOISE / np.sqrt(base.shape[1]), base.shape)
        return (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)

    def _document(self) -> tuple[SourceDocument, list[Chunk]]:
        i = self.n_docs
        texts = [self._chunk_text() for _ in range(CHUNKS_PER_DOC)]
        text = "\n\n".join(texts)
        title = f"Synthetic document {i}"
        source = f"/synthetic/doc-{i:05d}.md"
        topics = [TOPICS[i % len(TOPICS)]]
        year = 2000 + i % 25
        doc = SourceDocument(
            doc_id=content_hash(text),
            title=title,
            source=source,
            format="markdown",
            text=text,
            meta={"topics": topics, "year": year},
            size_bytes=len(text.encode("utf-8")),
        )
        meta = {"title": title, "source": source, "format": "markdown", "topics": topics, "year": year}
        chunks, start = [], 0
        for ordinal, chunk_text in enumerate(texts):
            end = start + len(chunk_text)
            chunks.append(
                Chunk(
                    id=content_hash(doc.doc_id, str(start), str(end), chunk_text),
                    doc_id=doc.doc_id,
                    text=chunk_text,
                    start=start,
                    end=end,
                    ordinal=ordinal,
                    meta=meta,
                )
            )
            start = end + 2
        return doc, chunks

    def grow_to(self, n_chunks: int) -> None:
        started = time.perf_counter()
        with self.index.batch():
            while self.n_chunks + CHUNKS_PER_DOC <= n_chunks:
                doc, chunks = self._document()
                self.index.add_document(doc, chunks, self._vectors(len(chunks)))
                self.n_docs += 1
                self.n_chunks += len(chunks)
        print(
            f"synthetic library at {self.n_chunks} chunks ({time.perf_counter() - started:.0f} s)", flush=True
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000, 100000])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--max-questions", type=int, default=24, help="in-scope dev questions asked per round"
    )
    parser.add_argument("--work", help="folder for the indexes (default: a temporary folder)")
    parser.add_argument("--corpus", default=str(REPO / "corpus"))
    parser.add_argument("--questions", default=str(REPO / "evals" / "questions" / "dev.jsonl"))
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument(
        "--torch-threads", type=int, help="torch intra-op threads (default: torch's choice, one per core)"
    )
    args = parser.parse_args()

    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    from rag.engine import ChangeGuide
    from rag.index.embedding import SentenceTransformerEmbedder

    work = Path(args.work or tempfile.mkdtemp(prefix="bench-query-"))
    qs = questions(Path(args.questions))[: args.max_questions]
    embedder = SentenceTransformerEmbedder()
    results = []

    starter = ChangeGuide(Settings().with_index_dir(work / "starter"), embedder=embedder)
    report = starter.ingest([Path(args.corpus)])
    print(f"starter library: {len(report.added) + len(report.unchanged)} documents", flush=True)
    results.append(
        percentile_table("starter (corpus/)", starter.stats().chunks, measure(starter, qs, args.rounds))
    )
    starter.close()

    if args.sizes:
        synthetic = ChangeGuide(Settings().with_index_dir(work / "synthetic"), embedder=embedder)
        library = SyntheticLibrary(synthetic.index, embedder, corpus_sentences(Path(args.corpus)))
        for size in sorted(args.sizes):
            library.grow_to(size)
            chunks = synthetic.stats().chunks
            results.append(
                percentile_table(f"synthetic {size:,}", chunks, measure(synthetic, qs, args.rounds))
            )
        synthetic.close()

    print(
        f"\nwarm latency of ask (extractive), ms; {len(qs)} questions x {args.rounds} rounds; "
        f"torch threads {args.torch_threads or 'default'}; index in {work}"
    )
    header = "| library | chunks | " + " | ".join(f"{s} p50 | {s} p95" for s in STAGES) + " |"
    print(header)
    print("|" + "---|" * (2 + 2 * len(STAGES)))
    for row in results:
        cells = " | ".join(f"{row[f'{s}_p50']:.0f} | {row[f'{s}_p95']:.0f}" for s in STAGES)
        print(f"| {row['library']} | {row['chunks']:,} | {cells} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
