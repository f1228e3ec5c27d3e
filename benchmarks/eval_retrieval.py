"""The retrieval figures of `changeguide eval` without the answer stage, for comparing indexes cheaply.

Usage: python benchmarks/eval_retrieval.py --index DIR QUESTIONS.jsonl [QUESTIONS.jsonl ...]

Asks every question through the engine exactly as `changeguide eval` does (`ask_all`: the same
rewrite of follow-ups, retrieval, reranking, duplicate collapse and per-document cap) but with
an answer backend that returns nothing, so the answerer's sentence embeddings (most of an
`ask`) are not paid for. Prints the eval's `retrieval` block (hit@1/5/10, MRR, nDCG@10 over the
ranking of distinct documents; passage_hit: a gold document among the k passages) plus
`phrase_in_passages`: a gold phrase occurs in one of the k passages (what an answer can quote).
The index is opened with the settings of the environment (CHANGEGUIDE_EMBEDDING__RUNTIME,
CHANGEGUIDE_CHUNKING__CHUNK_TOKENS, ...), which must match the index's fingerprint.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from rag.answer.base import Draft  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.engine import ChangeGuide  # noqa: E402
from rag.evals import metrics  # noqa: E402
from rag.evals.runner import RunOptions, ask_all, load_question_set  # noqa: E402
from rag.types import ScoredChunk  # noqa: E402


class PassagesOnly:
    """An answer backend that answers nothing and keeps the passages it was handed."""

    name = "passages-only"

    def __init__(self) -> None:
        self.passages: dict[str, list[str]] = {}  # standalone question -> passage texts

    def generate(
        self, question: str, passages: Sequence[ScoredChunk], *, on_token: Callable[[str], None] | None = None
    ) -> Draft:
        self.passages[question] = [p.chunk.text for p in passages]
        return Draft(text="", sentences=(), citations=(), abstained=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("questions", type=Path, nargs="+")
    args = parser.parse_args(argv[1:])

    settings = Settings().with_index_dir(args.index)
    engine = ChangeGuide(settings)
    backend = PassagesOnly()
    engine.register_generator(backend)
    try:
        print(
            f"index {args.index}: fingerprint {engine.index.fingerprint}, runtime {settings.embedding.runtime}, "
            f"chunk_tokens {settings.chunking.chunk_tokens}/{settings.chunking.overlap_tokens}, "
            f"{engine.index.stats().chunks} chunks"
        )
        for path in args.questions:
            options = RunOptions(questions=path, backend=backend.name, progress=False)
            questions, _ = load_question_set(options)
            t0 = time.perf_counter()
            results, _ = ask_all(engine, questions, options)
            figures = metrics.retrieval_metrics(results)
            scored = [r for r in results if r.answerable and r.gold_doc_ids and r.gold_phrases]
            found = [
                metrics.phrase_found(backend.passages.get(r.standalone_question, []), r.gold_phrases)
                for r in scored
            ]
            figures["phrase_in_passages"] = sum(found) / len(found) if found else None
            figures["seconds"] = round(time.perf_counter() - t0, 1)
            print(
                f"{path.name}: {json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()})}"
            )
    finally:
        engine.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
