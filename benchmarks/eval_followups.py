"""Measure follow-up rewriting: is the gold document found with the rewritten question?

    .venv/bin/python benchmarks/eval_followups.py --index DIR [QUESTIONS ...] [--k N] [--quiet]

Asks every answerable follow-up (a question with `history`) of the question sets (default
evals/questions/managers-dev.jsonl, asked against an index of corpus/ beside ../shared/docs) three
ways through the real engine, with no history handed to it:

- raw: the follow-up as typed ("what's the catch with using one?");
- concatenated: the earlier questions and the follow-up joined into one query (the naive fix);
- rewritten: `rag.answer.rewrite.rewrite_followup` (what `ask` does with history by default).

Per way: gold retrieved (a gold document among the k passages handed to the answerer, as
`changeguide eval`'s `gold_retrieved`), doc hit@1 (the first document of the reranked ranking is
gold) and gold cited (a citation from a gold document). Each rewritten question is printed unless
`--quiet`. Tune on the dev split only: evals/questions/managers-test.jsonl is held out.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rag.answer.rewrite import rewrite_followup  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.evals.metrics import distinct  # noqa: E402
from rag.evals.questions import Question, load_questions, resolve_gold  # noqa: E402

DEFAULT_SETS = (REPO / "evals" / "questions" / "managers-dev.jsonl",)
WAYS = ("raw", "concatenated", "rewritten")


def variants(q: Question) -> dict[str, str]:
    """The three queries of one follow-up."""
    earlier = " ".join(t.question for t in q.history)
    return {
        "raw": q.question,
        "concatenated": f"{earlier} {q.question}",
        "rewritten": rewrite_followup(q.question, q.turns),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("questions", nargs="*", type=Path, default=list(DEFAULT_SETS))
    parser.add_argument("--index", required=True, help="an index of corpus/ and ../shared/docs")
    parser.add_argument("--k", type=int, default=None, help="passages handed to the answerer")
    parser.add_argument("--quiet", action="store_true", help="figures only, no rewritten questions")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

    from rag.engine import ChangeGuide

    followups = [q for path in args.questions for q in load_questions(path) if q.history and q.answerable]
    engine = ChangeGuide(Settings().with_index_dir(args.index))
    try:
        documents = [(d.doc_id, d.source) for d in engine.documents()]
        totals = {way: [0, 0, 0] for way in WAYS}  # gold retrieved, hit@1, gold cited
        asked = 0
        for q in followups:
            gold, missing = resolve_gold(q.gold_sources, documents)
            if not gold:
                print(f"skipped {q.id}: no indexed document matches {missing}", file=sys.stderr)
                continue
            asked += 1
            marks = []
            queries = variants(q)
            for way in WAYS:
                answer = engine.ask(queries[way], k=args.k)
                ranking = distinct(r.chunk.doc_id for r in answer.ranking or answer.retrieved)
                found = (
                    bool({p.chunk.doc_id for p in answer.retrieved} & gold),
                    bool(ranking[:1]) and ranking[0] in gold,
                    any(c.doc_id in gold for c in answer.citations),
                )
                for i, hit in enumerate(found):
                    totals[way][i] += int(hit)
                marks.append(f"{way[:3]} {'+' if found[0] else '-'}")
            if not args.quiet:
                print(f"{q.id}  [{', '.join(marks)}]")
                print(f"    earlier:   {q.history[-1].question}")
                print(f"    follow-up: {q.question}")
                print(f"    rewritten: {queries['rewritten']}")
    finally:
        engine.close()
    names = ", ".join(p.name for p in args.questions)
    print(f"\n{asked} answerable follow-ups of {names}; index {args.index}\n")
    print("| query | gold retrieved | doc hit@1 | gold cited |")
    print("| --- | ---: | ---: | ---: |")
    for way in WAYS:
        cells = " | ".join(f"{n}/{asked} ({n / asked:.2f})" if asked else "-" for n in totals[way])
        print(f"| {way} | {cells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
