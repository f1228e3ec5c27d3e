"""Measure the extractive answer's composition on the development questions, and its speed.

    .venv/bin/python benchmarks/tune_answer.py [--index /tmp/changeguide-dev-index] [--variants]

Retrieves the passages of every in-scope question of evals/questions/dev.jsonl once (the real
engine on a dev index of corpus/), then composes answers from them and reports: answer length in
words (median, minimum, how many under settings.answer.min_words), gold-phrase recall (share of a
question's gold phrases found in the answer), gold-source share (share of answer sentences
quoted from a gold source) and the answer stage's time per question (cold: the bare model embeds
the question and every shortlisted sentence; warm: the engine's caching embedder, as when a
question is asked again). `--variants` repeats the figures with
each weight of rag/answer/extractive.py moved up and down.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import rag.answer.extractive as extractive  # noqa: E402
from rag.config import AnswerSettings, Settings  # noqa: E402

VARIANTS = {
    "RELATIVE_FLOOR": (0.5, 0.7),
    "EXTEND_FLOOR": (0.7, 0.9),
    "PASSAGE_WEIGHT": (0.05, 0.25),
    "SUBJECT_WEIGHT": (0.0, 0.2),
    "COVERAGE_WEIGHT": (0.1, 0.35),
    "SHORTLIST_SIZE": (12, 24),
}


def evaluate(label: str, cold_generator, generator, cases: list[tuple[dict, tuple]], min_words: int) -> None:
    words, recall, share, cold, warm = [], [], [], [], []
    for row, passages in cases:
        t0 = time.perf_counter()
        draft = cold_generator.generate(row["question"], passages)
        t1 = time.perf_counter()
        generator.generate(row["question"], passages)
        generator.generate(row["question"], passages)
        t2 = time.perf_counter()
        cold.append((t1 - t0) * 1000)
        warm.append((t2 - t1) * 1000 / 2)
        text = " ".join(draft.text.split()).lower()
        words.append(sum(len(re.findall(r"[A-Za-z0-9]+", s.text)) for s in draft.sentences))
        recall.append(sum(p.lower() in text for p in row["gold_phrases"]) / len(row["gold_phrases"]))
        sources = {c.n: Path(c.source).name for c in draft.citations}
        from_gold = [sources[s.citations[0]] in row["gold_sources"] for s in draft.sentences]
        share.append(sum(from_gold) / max(1, len(from_gold)))
    print(
        f"{label:28} words median {statistics.median(words):4.0f} min {min(words):3d} "
        f"(<{min_words}: {sum(w < min_words for w in words):2d})  phrase recall {statistics.mean(recall):.3f}  "
        f"gold-source share {statistics.mean(share):.3f}  ms cold p50 {statistics.median(cold):4.0f} "
        f"warm p50 {statistics.median(warm):4.0f} p95 {sorted(warm)[int(0.95 * (len(warm) - 1))]:4.0f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--index", type=Path, default=Path("/tmp/changeguide-dev-index"), help="dev index folder"
    )
    parser.add_argument("--questions", type=Path, default=REPO / "evals/questions/dev.jsonl")
    parser.add_argument("--variants", action="store_true", help="also move each weight up and down")
    args = parser.parse_args()

    from rag.engine import ChangeGuide

    engine = ChangeGuide(Settings().with_index_dir(args.index))
    engine.ingest([REPO / "corpus"])
    rows = [
        json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    cases = [(row, engine.ask(row["question"]).retrieved) for row in rows if row["answerable"]]
    settings = AnswerSettings(abstain_threshold=0.0)  # compose every answer, even weak ones
    print(f"{len(cases)} in-scope questions, k={engine.settings.retrieval.k}")

    def run(label: str) -> None:
        # Cold: the bare model, every vector computed. Warm: the engine's caching embedder.
        cold = extractive.ExtractiveGenerator(engine.embedder.inner, settings)
        warm = extractive.ExtractiveGenerator(engine.embedder, settings)
        evaluate(label, cold, warm, cases, settings.min_words)

    run("current")
    if args.variants:
        for name, values in VARIANTS.items():
            original = getattr(extractive, name)
            for value in values:
                setattr(extractive, name, value)
                run(f"{name}={value}")
            setattr(extractive, name, original)
    engine.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
