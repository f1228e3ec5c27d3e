"""Ingestion at library scale: end-to-end throughput against raw encoding, memory, re-ingest time.

Usage: python benchmarks/bench_ingest.py [--editions 4] [--docs DIR ...] [--work DIR] [--raw-first]

Builds a library from real documents: edition 0 is every supported file of ../shared/docs and
corpus/ as it is; each later edition is a copy of every document with small changes (about one
line in seven edited: a number's last digit moved on, or two neighbouring words swapped, and a
heading naming the edition), the way a trust's yearly reports repeat last year's text. Markdown,
text and CSV files are edited in their own format; PDF, DOCX, PPTX, XLSX and HTML are copied as
the Markdown of their extracted text (their parsers run on edition 0 only).

Then, with the configured embedding runtime (CHANGEGUIDE_EMBEDDING__RUNTIME):
- ingests the library into a fresh index (discovery, parsing, chunking, near-duplicate
  signatures, embedding, storing, the keyword index): chunks/s and pages/s end to end;
- embeds the very same chunk texts with the bare embedder (`embed_batch`, same batch size), in
  the same process: the ratio of the two rates says what the pipeline costs besides embedding;
- samples the process's resident memory every 0.2 s (peak, and the RSS as each quarter of the
  chunks is stored: flat means memory does not grow with the library);
- ingests the unchanged library again (every file is hashed and found unchanged).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from rag.config import Settings  # noqa: E402
from rag.index.embedding import make_embedder  # noqa: E402
from rag.index.store import Index  # noqa: E402
from rag.ingest.loaders import loader_for  # noqa: E402
from rag.ingest.pipeline import EMBED_BATCH, IngestEvent, discover, ingest_paths  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DOCS = [REPO.parent / "shared" / "docs", REPO / "corpus"]
EDIT_EVERY = 7  # about one line in seven changes between editions
IN_FORMAT = {".md", ".txt", ".csv"}  # copied in their own format, with edits
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 1e6


class RssSampler(threading.Thread):
    """Resident memory every `interval` seconds, in the background."""

    def __init__(self, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.interval, self.peak, self._done = interval, rss_mb(), threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.interval):
            self.peak = max(self.peak, rss_mb())

    def stop(self) -> float:
        self._done.set()
        self.join()
        return self.peak


def edit(text: str, edition: int, rng: random.Random) -> str:
    """`text` with about one line in EDIT_EVERY changed: a number nudged or two words swapped."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.strip() or rng.randrange(EDIT_EVERY):
            continue
        numbers = list(re.finditer(r"\d", line))
        if numbers:
            m = numbers[rng.randrange(len(numbers))]
            lines[i] = line[: m.start()] + str((int(m.group()) + edition) % 10) + line[m.end() :]
            continue
        words = line.split(" ")
        if len(words) > 3:
            j = rng.randrange(1, len(words) - 1)
            words[j], words[j + 1] = words[j + 1], words[j]
            lines[i] = " ".join(words)
    return "\n".join(lines)


def build_library(sources: list[Path], dest: Path, editions: int, settings: Settings) -> dict[str, int]:
    """Edition 0 = the originals; editions 1.. = edited copies. Returns files per kind of copy."""
    files = discover(sources, _Report())
    counts = {"original": 0, "edited in format": 0, "extracted text, edited": 0, "unreadable": 0}
    texts: dict[Path, str] = {}
    for path in files:
        target = dest / "edition-0" / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        counts["original"] += 1
        if path.suffix.lower() in IN_FORMAT:
            texts[path] = path.read_text(encoding="utf-8", errors="replace")
        else:
            try:
                texts[path] = loader_for(path)(path, settings).text
            except Exception:  # a file the pipeline will report as failed: nothing to copy
                counts["unreadable"] += 1
    for edition in range(1, editions):
        rng = random.Random(edition)
        for path, text in texts.items():
            in_format = path.suffix.lower() in IN_FORMAT
            name = path.name if in_format else path.name + ".md"
            target = dest / f"edition-{edition}" / path.parent.name / name
            target.parent.mkdir(parents=True, exist_ok=True)
            body = edit(text, edition, rng)
            if path.suffix.lower() != ".csv":  # a CSV's first line is its header row
                body = f"Edition {edition} of {path.stem}\n\n{body}"
            target.write_text(body, encoding="utf-8")
            counts["edited in format" if in_format else "extracted text, edited"] += 1
    return counts


class _Report:  # what `discover` records skipped files on
    def __init__(self) -> None:
        self.skipped: list[tuple[str, str]] = []


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--editions", type=int, default=4, help="edition 0 plus edited copies")
    parser.add_argument("--docs", type=Path, nargs="+", default=DEFAULT_DOCS)
    parser.add_argument("--work", type=Path, default=None, help="folder for the library and index (kept)")
    args = parser.parse_args(argv[1:])

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    library, index_dir = work / "library", work / "index"
    for folder in (library, index_dir):
        if folder.exists():
            shutil.rmtree(folder)
    settings = Settings().with_index_dir(index_dir)
    emb = settings.embedding
    print(
        f"runtime {emb.runtime}, threads {emb.threads or 'default'}, batch {emb.batch_size}, "
        f"chunk_tokens {settings.chunking.chunk_tokens}; cpus {os.cpu_count()}, "
        f"load average {os.getloadavg()[0]:.1f}; fingerprint {settings.fingerprint()}"
    )

    t0 = time.perf_counter()
    counts = build_library(list(args.docs), library, args.editions, settings)
    print(
        f"library: {', '.join(f'{n} {k}' for k, n in counts.items())} files in {args.editions} editions "
        f"({time.perf_counter() - t0:.0f} s to build; edition 0 = the real files, later editions = copies "
        f"with about one line in {EDIT_EVERY} changed)"
    )

    rss_start = rss_mb()
    t0 = time.perf_counter()
    embedder = make_embedder(emb)
    embedder.embed_batch(["warm-up text"] * emb.batch_size)
    print(
        f"model load + warm-up: {time.perf_counter() - t0:.1f} s (not counted); RSS {rss_start:.0f} -> "
        f"{rss_mb():.0f} MB"
    )

    marks: list[tuple[int, float]] = []  # (chunks stored so far, RSS) after each file

    def progress(event: IngestEvent) -> None:
        if event.finished:
            marks.append((event.chunks_done, rss_mb()))

    sampler = RssSampler()
    sampler.start()
    index = Index.open(settings)
    try:
        cpu0 = time.process_time()
        report = ingest_paths([library], index, embedder, settings, progress=progress)
        pipeline_cpu = time.process_time() - cpu0
        records = index.documents()
        texts = [c.text for r in records for c in index.document_chunks(r.doc_id)]
    finally:
        index.close()
    peak_ingest = sampler.stop()

    # The same texts through the bare embedder, in the pipeline's batches.
    w0, c0 = time.perf_counter(), time.process_time()
    for k in range(0, len(texts), EMBED_BATCH):
        embedder.embed_batch(texts[k : k + EMBED_BATCH])
    raw_s, raw_cpu = time.perf_counter() - w0, time.process_time() - c0

    index = Index.open(settings)
    try:
        again = ingest_paths([library], index, embedder, settings)
    finally:
        index.close()

    n = len(texts)
    pdf_pages = sum(r.page_count or 0 for r in records if r.format == "pdf")
    pages = pdf_pages + sum(1 for r in records if r.format != "pdf")
    pipe_rate, raw_rate = n / report.seconds, n / raw_s
    print(
        f"files: added {len(report.added)}, unchanged {len(report.unchanged)}, failed {len(report.failed)}"
        + "".join(f"\n  failed {Path(s).name}: {why}" for s, why in report.failed)
    )
    print(f"chunks: {n}; pages: {pages} ({pdf_pages} PDF pages + {pages - pdf_pages} other documents)")
    print(
        f"pipeline: {report.seconds:.1f} s, {pipe_rate:.1f} chunks/s, {pages / report.seconds:.1f} pages/s, "
        f"{n / pipeline_cpu:.1f} chunks per CPU second"
    )
    print(f"raw embed_batch: {raw_s:.1f} s, {raw_rate:.1f} chunks/s, {n / raw_cpu:.1f} chunks per CPU second")
    print(
        f"ratio pipeline/raw: {pipe_rate / raw_rate:.2f} wall clock, {raw_cpu / pipeline_cpu:.2f} CPU time "
        "(target >= 0.85)"
    )
    quarters = [next((rss for done, rss in marks if done >= q * n / 4), marks[-1][1]) for q in (1, 2, 3, 4)]
    print(
        f"RSS: peak {peak_ingest:.0f} MB during the ingest (target <= 1500); after 25/50/75/100% of the "
        f"chunks: {' / '.join(f'{r:.0f}' for r in quarters)} MB"
    )
    print(
        f"re-ingest of the unchanged library: {again.seconds:.1f} s ({len(again.unchanged)} files unchanged, "
        f"{len(again.added) + len(again.updated)} re-embedded)"
    )
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
