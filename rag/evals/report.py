"""Write an evaluation run to a folder: report.json, report.md and PNG plots."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.errors import EvaluationError

REPORT_JSON, REPORT_MD = "report.json", "report.md"
TAG_PLOT, LATENCY_PLOT = "metrics_by_tag.png", "latency.png"
TAG_PLOT_FIGURES = ("hit@5", "citation_recall", "phrase_hit", "abstention_correct")

# The headline figures, in reading order: (section, key, label).
HEADLINE: tuple[tuple[str, str, str], ...] = (
    ("retrieval", "hit@1", "retrieval hit@1"),
    ("retrieval", "hit@5", "retrieval hit@5"),
    ("retrieval", "hit@10", "retrieval hit@10"),
    ("retrieval", "mrr", "retrieval MRR@10"),
    ("retrieval", "ndcg@10", "retrieval nDCG@10"),
    ("retrieval", "passage_hit", "gold document among the passages"),
    ("citations", "precision", "citation precision"),
    ("citations", "recall", "citation recall"),
    ("citations", "phrase_hit", "gold phrase in a citation"),
    ("citations", "verbatim", "excerpts verbatim"),
    ("answer", "rougeL_f1", "answer ROUGE-L F1"),
    ("answer", "yes_no_maybe_accuracy", "yes/no/maybe accuracy"),
    ("abstention", "precision", "abstention precision"),
    ("abstention", "recall", "abstention recall"),
    ("abstention", "false_abstentions", "false abstentions"),
    ("latency_ms", "p50", "latency p50 (ms)"),
    ("latency_ms", "p95", "latency p95 (ms)"),
)


def fmt(value: Any) -> str:
    """A figure as a short string: 3 decimals for rates, 1 for milliseconds, n/a for None."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"
    return str(value)


def _cell(text: str, limit: int = 120) -> str:
    """Text fit for one Markdown table cell."""
    flat = " ".join(str(text).split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(c if isinstance(c, str) else fmt(c) for c in row) + " |" for row in rows]
    return lines


def render_markdown(report: dict[str, Any], plots: Sequence[str] = ()) -> str:
    """report.md: the headline table, per-tag table, plots and the questions that went wrong."""
    cfg = report.get("config", {})
    lines = [
        "# Evaluation report",
        "",
        f"- questions: {report['n_questions']} ({report['n_answerable']} answerable, "
        f"{report['abstention']['n_out_of_scope']} out of scope), errors: {report['n_errors']}",
        f"- question set: `{cfg.get('questions', '')}` ({cfg.get('dataset', '')})",
        f"- backend: {cfg.get('backend')}, retriever: {cfg.get('retriever')}, k: {cfg.get('k')}",
        f"- index fingerprint: `{report.get('index_fingerprint', '')}`, index: {cfg.get('index', {}).get('index')}",
        f"- neural reranker: `{report.get('reranker_fingerprint') or 'off'}`",
        f"- run: {cfg.get('started_at', '')}, {cfg.get('seconds', '')} s",
        "",
        "## Headline figures",
        "",
    ]
    lines += _table(["metric", "value"], [(label, report[sec].get(key)) for sec, key, label in HEADLINE])
    note = report["answer"].get("yes_no_maybe_note")
    if note:
        lines += ["", f"yes/no/maybe accuracy: {note}."]
    lines += [
        "",
        "Retrieval figures rank distinct documents (the engine's reranked candidates, deduplicated by "
        "document); citation precision counts cited excerpts from a gold document, recall counts "
        "answerable questions with at least one gold citation.",
        "",
        "## By tag",
        "",
    ]
    tags = report.get("per_tag", {})
    if tags:
        keys = list(next(iter(tags.values())).keys())
        lines += _table(["tag", *keys], [(tag, *(figs[k] for k in keys)) for tag, figs in tags.items()])
    styles = report.get("per_style", {})
    if styles:
        keys = list(next(iter(styles.values())).keys())
        lines += ["", "## By question style", ""]
        lines += _table(["style", *keys], [(st, *(figs[k] for k in keys)) for st, figs in styles.items()])
    for plot in plots:
        lines += ["", f"![{plot}]({plot})"]
    lines += ["", "## Questions that went wrong", ""]
    wrong = [q for q in report["questions"] if _went_wrong(q)]
    if wrong:
        lines += _table(
            ["id", "what", "gold rank", "top documents", "answer"],
            [
                (
                    q["id"],
                    _what_went_wrong(q),
                    q["gold_rank"],
                    _cell(", ".join(Path(s).stem for s in q["ranking_sources"][:3]), 80),
                    _cell(q["error"] or q["answer"], 100),
                )
                for q in wrong
            ],
        )
    else:
        lines.append("None.")
    lines += ["", "## Every question", ""]
    lines += _table(
        ["id", "tags", "abstained", "gold rank", "gold cited", "phrase hit", "ROUGE-L", "ms"],
        [
            (
                q["id"],
                _cell(", ".join(q["tags"]), 50),
                q["abstained"],
                q["gold_rank"],
                q["gold_cited"] if q["answerable"] else None,
                q["phrase_hit"],
                q["rouge_l_f1"],
                q["latency_ms"],
            )
            for q in report["questions"]
        ],
    )
    return "\n".join(lines) + "\n"


def _went_wrong(q: dict[str, Any]) -> bool:
    if q["error"]:
        return True
    if not q["answerable"]:
        return not q["abstained"]
    return bool(q["abstained"] or not q["gold_cited"] or q["phrase_hit"] is False)


def _what_went_wrong(q: dict[str, Any]) -> str:
    if q["error"]:
        return "error"
    if not q["answerable"]:
        return "answered an out-of-scope question"
    if q["abstained"]:
        return "abstained"
    if not q["gold_cited"]:
        return "no gold citation"
    return "gold phrase not cited"


def plot_tags(report: dict[str, Any], path: Path) -> bool:
    """Grouped bars of the main figures per tag; False when there is nothing to plot."""
    tags = report.get("per_tag", {})
    if not tags:
        return False
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and in CI
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(tags)
    x = np.arange(len(names))
    width = 0.8 / len(TAG_PLOT_FIGURES)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.55 * len(names) + 2), 4.5))
    for i, figure in enumerate(TAG_PLOT_FIGURES):
        values = [tags[t].get(figure) for t in names]
        ax.bar(x + i * width, [v if v is not None else 0.0 for v in values], width, label=figure)
    ax.set_xticks(x + width * (len(TAG_PLOT_FIGURES) - 1) / 2)
    ax.set_xticklabels([f"{t} ({tags[t]['n']})" for t in names], rotation=60, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share of questions")
    ax.set_title("Metrics by tag (n questions)", pad=24)
    # Above the axes: below them it would collide with the rotated tag names.
    ax.legend(
        fontsize=8, ncols=len(TAG_PLOT_FIGURES), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def plot_latency(report: dict[str, Any], path: Path) -> bool:
    """Histogram of per-question latency with p50 and p95 marked; False when no latencies."""
    values = [q["latency_ms"] for q in report["questions"] if q["latency_ms"] is not None]
    if not values:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.0, 3.8))
    ax.hist(values, bins=min(30, max(5, len(values) // 3)), color="#4c72b0")
    for key, style in (("p50", "--"), ("p95", ":")):
        value = report["latency_ms"][key]
        ax.axvline(value, color="black", linestyle=style, label=f"{key} {value:.0f} ms")
    ax.set_xlabel("latency of ask (ms)")
    ax.set_ylabel("questions")
    ax.set_title("Latency distribution")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_report(report: dict[str, Any], out: Path) -> list[Path]:
    """Write report.json, the plots and report.md into `out` (created); returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / REPORT_JSON]
    written[0].write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    plots = []
    if plot_tags(report, out / TAG_PLOT):
        plots.append(TAG_PLOT)
    if plot_latency(report, out / LATENCY_PLOT):
        plots.append(LATENCY_PLOT)
    written += [out / p for p in plots]
    (out / REPORT_MD).write_text(render_markdown(report, plots), encoding="utf-8")
    written.append(out / REPORT_MD)
    return written


def load_report(run: Path) -> dict[str, Any]:
    """report.json of a run folder (or the file itself).

    Raises:
        EvaluationError: there is no readable report there.
    """
    path = run / REPORT_JSON if run.is_dir() else run
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise EvaluationError(
            f"no evaluation report at {path}: pass a folder written by `changeguide eval --out DIR`."
        ) from exc
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise EvaluationError(f"cannot read the evaluation report {path}: {exc}") from exc
    if not isinstance(report, dict) or "retrieval" not in report:
        raise EvaluationError(f"{path} is not an evaluation report (no retrieval figures).")
    return report
