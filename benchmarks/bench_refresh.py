"""What catching up with another process's change costs: `Index.refresh` on a real index.

    .venv/bin/python benchmarks/bench_refresh.py --index /tmp/starter-index [--rounds 20]

Measures on an existing index (it is not changed): the no-change check every question makes,
and each part of a reload after a change: the documents from the registry, the BM25 index loaded
from disk (the writer saved it) or rebuilt from the registry (it had not yet), and reopening
an embedded Chroma client. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from rag.config import Settings
from rag.index.keyword import KeywordIndex
from rag.index.manifest import BM25
from rag.index.store import Index


def _ms(fn, rounds: int) -> dict[str, float]:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return {"median_ms": round(statistics.median(times), 3), "max_ms": round(max(times), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    settings = Settings().with_index_dir(args.index)
    with Index.open(settings, create=False) as index:
        stats = index.stats()
        registry = index._registry  # noqa: SLF001  # the parts of a reload, timed one by one
        snapshot = registry.snapshot(corpus=True)
        assert snapshot.corpus is not None
        figures = {
            "documents": stats.documents,
            "chunks": stats.chunks,
            "no_change_check": _ms(index.refresh, args.rounds * 50),
            "documents_reload": _ms(index._read_view, args.rounds),  # noqa: SLF001
            "bm25_load_saved": _ms(lambda: KeywordIndex.load(index.path / BM25), args.rounds),
            "bm25_rebuild": _ms(
                lambda: KeywordIndex.build(*registry.snapshot(corpus=True).corpus, snapshot.generation),
                max(3, args.rounds // 4),
            ),
        }
        if index._reopen_vectors is not None:  # noqa: SLF001
            figures["chroma_reopen"] = _ms(lambda: index._reopen_vectors().close(), max(3, args.rounds // 4))  # noqa: SLF001
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
