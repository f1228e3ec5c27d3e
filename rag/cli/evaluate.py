"""`changeguide eval QUESTIONS ...` and `changeguide eval compare RUN_A RUN_B`."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from rag.cli import EXIT_OK, EXIT_USAGE, add_index_argument
from rag.config import Settings

USAGE = (
    "changeguide eval QUESTIONS [--dataset jsonl|pubmedqa] [--index DIR | --docs PATH ...] "
    "[--backend B] [--retriever hybrid|dense|bm25] [--k N] [--limit N] [--out DIR]\n"
    "       changeguide eval compare RUN_A RUN_B"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="evaluate the engine on a question set, or compare two runs",
        usage=USAGE,
        description="Ask every question of a question set (JSONL, see evals/README.md, or PubMedQA) "
        "and write report.json, report.md and plots to --out. "
        "`changeguide eval compare RUN_A RUN_B` prints the deltas between two runs.",
    )
    parser.add_argument("questions", metavar="QUESTIONS", help="question set (or `compare`)")
    parser.add_argument("runs", nargs="*", type=Path, help=argparse.SUPPRESS)  # only for `compare`
    parser.add_argument(
        "--dataset",
        choices=("jsonl", "pubmedqa"),
        default="jsonl",
        help="format of QUESTIONS; pubmedqa builds its own index from the records (default: jsonl)",
    )
    add_index_argument(parser)
    parser.add_argument(
        "--docs", nargs="+", type=Path, metavar="PATH", help="build a fresh temporary index from these first"
    )
    parser.add_argument("--backend", choices=("extractive", "openai", "ollama"), help="answer backend")
    parser.add_argument("--retriever", choices=("hybrid", "dense", "bm25"), help="first-stage retriever")
    parser.add_argument("--k", type=int, help="passages handed to the answerer (default: settings)")
    parser.add_argument("--limit", type=int, help="ask only the first N questions (quick runs)")
    parser.add_argument("--out", type=Path, help="folder for the report (default: data/evals/<time>-<set>)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run_eval)


def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    if args.questions == "compare":
        return run_compare(args)
    if args.runs:
        print(f"error: unexpected arguments {' '.join(map(str, args.runs))}\nusage: {USAGE}", file=sys.stderr)
        return EXIT_USAGE
    if args.index and args.docs:
        print("error: give either --index DIR or --docs PATH..., not both", file=sys.stderr)
        return EXIT_USAGE
    if args.dataset == "pubmedqa" and (args.index or args.docs):
        print(
            "error: --dataset pubmedqa builds its own index from the records; drop --index/--docs",
            file=sys.stderr,
        )
        return EXIT_USAGE
    for name in ("k", "limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            print(f"error: --{name} must be at least 1", file=sys.stderr)
            return EXIT_USAGE

    from rag.evals.report import write_report
    from rag.evals.runner import RunOptions, run_evaluation

    questions = Path(args.questions)
    options = RunOptions(
        questions=questions,
        dataset=args.dataset,
        docs=tuple(args.docs or ()),
        backend=args.backend,
        retriever=args.retriever,
        k=args.k,
        limit=args.limit,
        progress=not args.quiet,
    )
    out = args.out or default_out(settings, questions, args.retriever or settings.retrieval.mode)
    report = run_evaluation(settings, options)
    for source, reason in report["config"]["index"].get("failed", []):
        print(f"warning: not ingested: {source}: {reason}", file=sys.stderr)
    if report["unresolved_gold_sources"]:
        unresolved = report["unresolved_gold_sources"]
        example = next(iter(unresolved.items()))
        print(
            f"warning: {len(unresolved)} question(s) name gold sources that match no indexed document "
            f"(e.g. {example[0]}: {', '.join(example[1])}); a question with none matched is left out of "
            "the retrieval and citation figures",
            file=sys.stderr,
        )
    write_report(report, out)
    print(summary(report))
    print(f"report: {out / 'report.md'}")
    return EXIT_OK


def default_out(settings: Settings, questions: Path, retriever: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return settings.app.data_dir / "evals" / f"{stamp}-{questions.stem}-{retriever}"


def summary(report: dict) -> str:
    """One line of the figures people look at first."""
    from rag.evals.report import fmt

    r, c, a, lat = report["retrieval"], report["citations"], report["abstention"], report["latency_ms"]
    return (
        f"{report['n_questions']} questions: hit@5 {fmt(r['hit@5'])}, MRR {fmt(r['mrr'])}, "
        f"nDCG@10 {fmt(r['ndcg@10'])}; citations P {fmt(c['precision'])} R {fmt(c['recall'])} "
        f"phrase {fmt(c['phrase_hit'])}; abstention P {fmt(a['precision'])} R {fmt(a['recall'])} "
        f"false {fmt(a['false_abstentions'])}; ROUGE-L {fmt(report['answer']['rougeL_f1'])}; "
        f"p50 {fmt(lat['p50'])} ms, p95 {fmt(lat['p95'])} ms; errors {report['n_errors']}"
    )


def run_compare(args: argparse.Namespace) -> int:
    if len(args.runs) != 2:
        print(f"error: compare takes two run folders\nusage: {USAGE}", file=sys.stderr)
        return EXIT_USAGE
    from rag.evals.compare import compare_reports, format_comparison
    from rag.evals.report import load_report

    run_a, run_b = args.runs
    a, b = load_report(run_a), load_report(run_b)
    print(format_comparison(a, b, compare_reports(a, b), names=(str(run_a), str(run_b))))
    return EXIT_OK
