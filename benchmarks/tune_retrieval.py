"""Measure and tune retrieval on the development questions: RRF against the second stage.

    .venv/bin/python benchmarks/tune_retrieval.py [--index /tmp/dev-index] [--fit] [--sweep]

Builds (or reuses) a dev index of corpus/, runs every in-scope question of
evals/questions/dev.jsonl through dense, BM25, RRF and the feature reranker, and prints
hit@k (a passage from a gold source in the top k), MRR over the top 10 and phrase recall@k
(share of the question's gold phrases found in the k passages handed to the answerer, after the
per-document cap). `--fit` fits the reranker's logistic weights on all candidates (label: the
chunk comes from a gold source) and reports them with 6-fold cross-validated figures;
`--sweep` tabulates k, candidates and per_doc_cap.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
L2 = 0.1  # ridge penalty of the fit; 0.01-1 all gave similar cross-validated figures
FOLDS = 6
sys.path.insert(0, str(REPO))

from rag.config import Settings  # noqa: E402
from rag.retrieve.dense import CachedEmbedder  # noqa: E402
from rag.retrieve.diversity import cap_per_document  # noqa: E402
from rag.retrieve.features import FEATURES  # noqa: E402
from rag.retrieve.hybrid import HybridRetriever  # noqa: E402
from rag.retrieve.rerank import INTERCEPT, WEIGHTS, FeatureReranker  # noqa: E402
from rag.types import ScoredChunk  # noqa: E402


@dataclass
class Case:
    """One in-scope question with its candidates, their features and labels."""

    qid: str
    question: str
    gold: set[str]
    phrases: list[str]
    candidates: list[ScoredChunk]
    features: np.ndarray
    labels: np.ndarray
    dense: list[ScoredChunk]
    bm25: list[ScoredChunk]


def open_dev_index(index_dir: Path, corpus: Path, settings: Settings, embedder):
    """Open the dev index, ingesting corpus/ into it first (unchanged files are skipped)."""
    from rag.index.store import Index
    from rag.ingest.pipeline import ingest_paths

    index = Index.open(settings)
    report = ingest_paths([corpus], index, embedder, settings)
    print(
        f"dev index {index_dir}: +{len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.failed)} failed",
        file=sys.stderr,
    )
    return index


def load_questions(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if r.get("answerable") and r.get("gold_sources")]


def source_name(item: ScoredChunk) -> str:
    return Path(str(item.chunk.meta.get("source", ""))).name


def _answers(item: ScoredChunk, gold: set[str], row: dict) -> bool:
    text = item.chunk.text.lower()
    return source_name(item) in gold and any(p.lower() in text for p in row.get("gold_phrases", []))


def collect(retriever: HybridRetriever, reranker: FeatureReranker, rows: list[dict], n: int) -> list[Case]:
    cases = []
    for row in rows:
        q = row["question"]
        cands = retriever.search(q, n)
        gold = set(row["gold_sources"])
        cases.append(
            Case(
                qid=row["id"],
                question=q,
                gold=gold,
                phrases=[p.lower() for p in row.get("gold_phrases", [])],
                candidates=cands,
                features=reranker.features(q, cands),
                labels=np.array([_answers(c, gold, row) for c in cands], dtype=float),
                dense=retriever.search(q, n, mode="dense"),
                bm25=retriever.search(q, n, mode="bm25"),
            )
        )
    return cases


def answers(item: ScoredChunk, case: Case) -> bool:
    """The passage comes from a gold source and contains one of the gold phrases."""
    text = item.chunk.text.lower()
    return source_name(item) in case.gold and any(p in text for p in case.phrases)


def metrics(ranked: Sequence[ScoredChunk], case: Case, k: int, cap: int) -> dict[str, float]:
    """Document-level hit@1 and MRR@10, passage-level hit@1 and MRR@10, hit@k and phrase recall@k.

    A passage "hits" when it comes from a gold source and contains a gold phrase; hit@k and
    phrase recall are measured on the k passages after the per-document cap (what the answerer sees).
    """
    docs = [source_name(c) in case.gold for c in ranked[:10]]
    passages_hit = [answers(c, case) for c in ranked[:10]]
    first_doc = next((i for i, h in enumerate(docs) if h), None)
    first_psg = next((i for i, h in enumerate(passages_hit) if h), None)
    passages = cap_per_document(ranked, k, cap)
    text = "\n".join(p.chunk.text.lower() for p in passages)
    found = sum(1 for p in case.phrases if p in text)
    return {
        "doc hit@1": float(any(docs[:1])),
        "doc MRR": 0.0 if first_doc is None else 1.0 / (first_doc + 1),
        "psg hit@1": float(any(passages_hit[:1])),
        "psg MRR": 0.0 if first_psg is None else 1.0 / (first_psg + 1),
        f"psg hit@{k}": float(any(answers(c, case) for c in passages)),
        f"phrases@{k}": found / len(case.phrases) if case.phrases else 1.0,
    }


def average(rows: list[dict[str, float]]) -> dict[str, float]:
    return {key: float(np.mean([r[key] for r in rows])) for key in rows[0]}


def order_by(case: Case, weights: np.ndarray, intercept: float) -> list[ScoredChunk]:
    logits = case.features @ weights + intercept
    order = sorted(range(len(case.candidates)), key=lambda i: -logits[i])  # stable: RRF breaks ties
    return [case.candidates[i] for i in order]


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = L2) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method (a handful of features, converges fast)."""
    x1 = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(x1.shape[1])
    penalty = l2 * np.eye(len(w))
    penalty[-1, -1] = 0.0  # the intercept is not shrunk
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(x1 @ w)))
        hessian = x1.T @ (x1 * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, x1.T @ (p - y) + penalty @ w)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def table(title: str, systems: dict[str, Callable[[Case], list[ScoredChunk]]], cases, k, cap) -> None:
    print(f"\n{title}  (n={len(cases)} questions, k={k}, per_doc_cap={cap})")
    header = None
    for name, rank in systems.items():
        avg = average([metrics(rank(c), c, k, cap) for c in cases])
        if header is None:
            header = list(avg)
            print(f"| {'system':<28} | " + " | ".join(f"{h:>10}" for h in header) + " |")
            print("|" + "-" * 30 + "|" + "|".join("-" * 12 for _ in header) + "|")
        print(f"| {name:<28} | " + " | ".join(f"{avg[h]:>10.3f}" for h in header) + " |")


def cross_validated(cases: list[Case], folds: int = FOLDS) -> Callable[[Case], list[ScoredChunk]]:
    """Rank each case with weights fitted on the other folds only."""
    fitted: dict[str, tuple[np.ndarray, float]] = {}
    for f in range(folds):
        train = [c for i, c in enumerate(cases) if i % folds != f]
        w, b = fit_logistic(np.vstack([c.features for c in train]), np.concatenate([c.labels for c in train]))
        for i, c in enumerate(cases):
            if i % folds == f:
                fitted[c.qid] = (w, b)
    return lambda c: order_by(c, *fitted[c.qid])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--index", default="/tmp/dev-index", help="dev index folder (built if missing)")
    parser.add_argument("--corpus", default=str(REPO / "corpus"))
    parser.add_argument("--questions", default=str(REPO / "evals" / "questions" / "dev.jsonl"))
    parser.add_argument("--fit", action="store_true", help="fit the logistic weights and cross-validate")
    parser.add_argument("--sweep", action="store_true", help="tabulate k, candidates and per_doc_cap")
    args = parser.parse_args(argv)

    from rag.index.embedding import make_embedder

    settings = Settings().with_index_dir(args.index)
    embedder = CachedEmbedder(make_embedder(settings.embedding))
    index = open_dev_index(Path(args.index), Path(args.corpus), settings, embedder.inner)
    retriever = HybridRetriever(index, embedder)
    reranker = FeatureReranker(index, embedder)
    rows = load_questions(Path(args.questions))
    r = settings.retrieval
    cases = collect(retriever, reranker, rows, r.candidates)
    current = (np.asarray(WEIGHTS), INTERCEPT)
    systems: dict[str, Callable[[Case], list[ScoredChunk]]] = {
        "dense only": lambda c: c.dense,
        "bm25 only": lambda c: c.bm25,
        "hybrid RRF": lambda c: c.candidates,
        "hybrid RRF + features": lambda c: order_by(c, *current),
    }
    if args.fit:
        x = np.vstack([c.features for c in cases])
        y = np.concatenate([c.labels for c in cases])
        w, b = fit_logistic(x, y)
        print("fitted weights:", ", ".join(f"{n}={v:.2f}" for n, v in zip(FEATURES, w, strict=True)))
        print(f"WEIGHTS = ({', '.join(f'{v:.2f}' for v in w)})\nINTERCEPT = {b:.2f}")
        systems["features, fitted (in-sample)"] = lambda c: order_by(c, w, b)
        systems[f"features, {FOLDS}-fold CV"] = cross_validated(cases)
    table("Retrieval on the dev questions", systems, cases, r.k, r.per_doc_cap)
    if args.sweep:
        final = systems["hybrid RRF + features"]
        for cap in (1, 2, 3, 5):
            table(f"per_doc_cap={cap}", {"features": final, "RRF": lambda c: c.candidates}, cases, r.k, cap)
        for k in (3, 4, 5, 6, 8):
            table(f"k={k}", {"features": final, "RRF": lambda c: c.candidates}, cases, k, r.per_doc_cap)
        for n in (10, 20, 40, 80):
            sub = collect(retriever, reranker, rows, n)
            table(
                f"candidates={n}", {"features": final, "RRF": lambda c: c.candidates}, sub, r.k, r.per_doc_cap
            )
    index.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
