"""The spreadsheet row limit's effect: text, chunks and time for the ONS tidy CSV at several limits.

Usage: python benchmarks/bench_rows.py [--embed] [FILE]   (default: the 18,803-row CSV in ../shared/docs)

Loads and chunks the file with `max_rows_per_sheet` at 500, 1,000, 2,000, 5,000 and all rows;
with --embed also times embedding the chunks with the bundled model (the cost that matters).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from rag.config import IngestSettings, Settings  # noqa: E402
from rag.ingest.chunking import chunk_document  # noqa: E402
from rag.ingest.loaders import loader_for  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO.parent / "shared" / "docs" / "NHSRdatasets_ons-weekly-mortality-2010-2020_tidy.csv"
LIMITS = (500, 1000, 2000, 5000, 1_000_000)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--embed", action="store_true", help="also time embedding the chunks")
    args = parser.parse_args(argv)
    embedder = None
    if args.embed:
        from rag.index.embedding import SentenceTransformerEmbedder

        embedder = SentenceTransformerEmbedder()
        embedder.embed_batch(["warm-up"])
    loader = loader_for(args.file)
    for limit in LIMITS:
        settings = Settings().model_copy(update={"ingest": IngestSettings(max_rows_per_sheet=limit)})
        t0 = time.perf_counter()
        doc = loader(args.file, settings)
        chunks = chunk_document(doc, settings.chunking)
        t1 = time.perf_counter()
        line = (
            f"limit {limit:>9,}: {len(doc.text) / 1024:7.0f} KB, {len(chunks):5} chunks, "
            f"rows left out {doc.meta.get('rows_left_out', 0):6,}, load + chunk {t1 - t0:5.1f} s"
        )
        if embedder is not None:
            embedder.embed_batch([c.text for c in chunks])
            seconds = time.perf_counter() - t1
            line += f", embed {seconds:6.1f} s ({len(chunks) / seconds:.1f} chunks/s)"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
