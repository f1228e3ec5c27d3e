"""Fit the learned abstention model (rag/answer/abstain.py) on the manager dev questions.

    HF_HUB_OFFLINE=1 nice -n 10 .venv/bin/python training/fit_abstention.py --index /tmp/neural-lib

Each question of evals/questions/managers-dev.jsonl is asked through the engine with the neural
stage on; its features (rag.answer.abstain.FEATURES) are read from the passages handed to the
answerer and the answerer's evidence. Label 1 = answerable. Questions are assigned to K folds by
a seeded shuffle (a question and its row never straddle folds); the out-of-fold probabilities
choose the threshold: the highest one whose false-abstention rate on answerable questions is at
most --max-false-abstention (default 5%, the issue's budget), which declines as many out-of-scope
questions as that allows. The L2 penalty is chosen by the same cross-validation repeated over
--repeats fold assignments (the candidate that declines most out-of-scope questions at that budget
on average). The final model is fitted on every question and
stored with that threshold, its provenance and the cross-validated trade-off at other budgets.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "training"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import numpy as np  # noqa: E402

from rag.answer.abstain import (  # noqa: E402
    ABSTAIN_MODEL_FILE,
    ABSTAIN_MODEL_NAME,
    DIRECTIONS,
    FEATURES,
    SUPPORT_FEATURES,
    abstention_features,
    outside_support,
)
from rag.config import Settings  # noqa: E402
from rag.models.linear import fit_logistic  # noqa: E402


def _collect_part(index: Path, rows: list[dict]) -> tuple[list[dict], str]:
    from rag.config import Settings
    from rag.engine import ChangeGuide
    from rag.types import Turn

    engine = ChangeGuide(Settings().with_index_dir(index))
    generator = engine.generator("extractive")
    out = []
    for q in rows:
        history = [Turn(h.get("question", ""), h.get("answer", "")) for h in q.get("history") or []]
        standalone, passages = engine.passages(q["question"], history=history)
        evidence = generator.assess(standalone, passages)
        features = abstention_features(evidence, passages) if evidence is not None else None
        if features is None:
            continue
        out.append(
            {
                "id": q["id"],
                "style": q.get("style", ""),
                "answerable": bool(q.get("answerable", True)),
                "features": features,
            }
        )
    fingerprint = engine.reranker_fingerprint
    engine.close()
    return out, fingerprint


def collect(index: Path, questions: Path, workers: int = 1) -> tuple[list[dict], str]:
    """One row per question (id, style, label, features), asked by `workers` processes; the rows keep
    the question set's order."""
    from concurrent.futures import ProcessPoolExecutor

    from mining import read_questions

    rows = read_questions(questions)
    if workers <= 1:
        return _collect_part(index, rows)
    parts = [rows[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        results = list(pool.map(_collect_part, [index] * workers, parts))
    by_id = {r["id"]: r for part, _ in results for r in part}
    return [by_id[q["id"]] for q in rows if q["id"] in by_id], results[0][1]


TRADE_OFF_BUDGETS = (0.0, 0.03, 0.05, 0.1, 0.15, 0.2)


def folds_of(n: int, k: int, seed: int) -> np.ndarray:
    order = list(range(n))
    random.Random(seed).shuffle(order)
    fold = np.zeros(n, dtype=int)
    for position, i in enumerate(order):
        fold[i] = position % k
    return fold


def signs_of(features: tuple[str, ...]) -> list[int]:
    """Each feature's direction (rag.answer.abstain.DIRECTIONS) for the constrained fit."""
    return [DIRECTIONS[f] for f in features]


def out_of_fold(
    x: np.ndarray, y: np.ndarray, fold: np.ndarray, k: int, l2: float, features: tuple[str, ...] = FEATURES
) -> np.ndarray:
    """Each question's probability from the model fitted on the other folds."""
    oof = np.zeros(len(y))
    for f in range(k):
        train, test = fold != f, fold == f
        model = fit_logistic(
            x[train], y[train], features, name=ABSTAIN_MODEL_NAME, l2=l2, signs=signs_of(features)
        )
        oof[test] = model.proba(x[test])
    return oof


def support_floors_of(rows: list[dict]) -> dict[str, float]:
    """The lowest value of each support feature among the answerable rows (rag.answer.abstain)."""
    answerable = [r["features"] for r in rows if r["answerable"]]
    return {f: min(a[f] for a in answerable) for f in SUPPORT_FEATURES} if answerable else {}


def outside_support_of_fold(rows: list[dict], fold: np.ndarray, k: int) -> np.ndarray:
    """Each row: whether the floors of the other folds' answerable rows put it outside the support."""
    outside = np.zeros(len(rows), dtype=bool)
    for f in range(k):
        floors = support_floors_of([r for r, g in zip(rows, fold, strict=True) if g != f])
        for i in np.flatnonzero(fold == f):
            outside[i] = outside_support(rows[i]["features"], floors)
    return outside


def choose_threshold(p: np.ndarray, y: np.ndarray, max_false: float) -> float:
    """The highest threshold whose false-abstention rate (answerable with p < t) is at most `max_false`."""
    answerable = np.sort(p[y == 1])
    allowed = int(np.floor(max_false * len(answerable)))
    # Declining the `allowed` lowest answerable questions is acceptable; the threshold sits just above them.
    return float(answerable[allowed]) if allowed < len(answerable) else 1.0


def by_style(rows: list[dict], p: np.ndarray, threshold: float) -> dict:
    table: dict[str, dict] = {}
    for row, prob in zip(rows, p, strict=True):
        entry = table.setdefault(
            row["style"], {"answerable": 0, "false_abstentions": 0, "oos": 0, "oos_declined": 0}
        )
        declined = bool(prob < threshold)
        if row["answerable"]:
            entry["answerable"] += 1
            entry["false_abstentions"] += declined
        else:
            entry["oos"] += 1
            entry["oos_declined"] += declined
    return dict(sorted(table.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--questions", type=Path, default=ROOT / "evals/questions/managers-dev.jsonl")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--repeats",
        type=int,
        default=5,
        help="fold assignments (seeds seed..seed+N-1) the L2 penalty is chosen on",
    )
    parser.add_argument("--l2", type=float, nargs="+", default=[0.1, 0.3, 1.0, 3.0, 10.0])
    parser.add_argument("--max-false-abstention", type=float, default=0.05)
    parser.add_argument("--out", type=Path, default=ABSTAIN_MODEL_FILE)
    parser.add_argument("--workers", type=int, default=1, help="processes asking the questions")
    parser.add_argument("--cache", type=Path, default=None, help="reuse/keep the collected features here")
    parser.add_argument(
        "--features",
        default=",".join(FEATURES),
        help="comma-separated subset, for ablations (with --out elsewhere: the engine reads every feature)",
    )
    args = parser.parse_args(argv)
    command = "python training/fit_abstention.py " + " ".join(argv if argv is not None else sys.argv[1:])
    started = time.time()
    if args.cache is not None and args.cache.is_file():
        cached = json.loads(args.cache.read_text(encoding="utf-8"))
        rows, fingerprint = cached["rows"], cached["reranker_fingerprint"]
    else:
        rows, fingerprint = collect(args.index, args.questions, args.workers)
        if args.cache is not None:
            args.cache.write_text(
                json.dumps({"rows": rows, "reranker_fingerprint": fingerprint}), encoding="utf-8"
            )
    features = tuple(f for f in args.features.split(",") if f)
    unknown = set(features) - set(FEATURES)
    if unknown:
        parser.error(f"unknown features: {sorted(unknown)}")
    x = np.array([[r["features"][f] for f in features] for r in rows])
    y = np.array([1.0 if r["answerable"] else 0.0 for r in rows])
    fold = folds_of(len(rows), args.folds, args.seed)
    answerable, oos = y == 1, y == 0

    # The L2 penalty is chosen by cross-validation repeated over `--repeats` fold assignments: the
    # one that declines most out-of-scope questions at the false-abstention budget on average (one
    # assignment alone moves that share by several points; ties go to the stronger penalty).
    def declined(p: np.ndarray) -> float:
        t = choose_threshold(p, y, args.max_false_abstention)
        return float((p[oos] < t).mean()) if oos.any() else 0.0

    seeds = [args.seed + r for r in range(max(1, args.repeats))]
    by_l2 = {}
    for l2 in args.l2:
        runs = [
            declined(out_of_fold(x, y, folds_of(len(rows), args.folds, seed), args.folds, l2, features))
            for seed in seeds
        ]
        by_l2[l2] = (float(np.mean(runs)), runs)
    l2 = max(by_l2, key=lambda v: (by_l2[v][0], v))
    oof = out_of_fold(x, y, fold, args.folds, l2, features)
    threshold = choose_threshold(oof, y, args.max_false_abstention)
    cv = {
        "folds": args.folds,
        "seed": args.seed,
        "threshold": round(threshold, 4),
        "false_abstention": round(float((oof[answerable] < threshold).mean()), 4),
        "oos_declined": round(float((oof[oos] < threshold).mean()), 4) if oos.any() else None,
        "n_answerable": int(answerable.sum()),
        "n_out_of_scope": int(oos.sum()),
        "per_style": by_style(rows, oof, threshold),
        # Out of scope declined at the budget, mean over the repeated fold assignments.
        "l2_candidates": {str(v): round(by_l2[v][0], 4) for v in args.l2},
        "repeats": {
            "seeds": seeds,
            "oos_declined": [round(v, 4) for v in by_l2[l2][1]],
        },
        # What other budgets would give (out of scope declined at each false-abstention rate).
        "trade_off": {
            str(budget): round(float((oof[oos] < choose_threshold(oof, y, budget)).mean()), 4)
            for budget in TRADE_OFF_BUDGETS
        }
        if oos.any()
        else {},
    }
    # The support floor declines what lies below every answerable question (rag.answer.abstain); out
    # of fold, it is what it adds to the model at the chosen threshold.
    outside = outside_support_of_fold(rows, fold, args.folds)
    declined_by_model = oof < threshold
    cv["support_floor"] = {
        "features": list(SUPPORT_FEATURES),
        "answerable_outside": int((outside & answerable).sum()),
        "oos_outside": int((outside & oos).sum()),
        "oos_declined_only_by_it": int((outside & oos & ~declined_by_model).sum()),
        "false_abstention_with_it": round(float(((oof < threshold) | outside)[answerable].mean()), 4),
        "oos_declined_with_it": round(float(((oof < threshold) | outside)[oos].mean()), 4)
        if oos.any()
        else None,
    }
    final = fit_logistic(x, y, features, name=ABSTAIN_MODEL_NAME, l2=l2, signs=signs_of(features))
    data_hash = hashlib.sha256(json.dumps(rows, sort_keys=True).encode("utf-8")).hexdigest()
    entry = final.to_json()
    entry["threshold"] = threshold
    entry["support_floors"] = support_floors_of(rows)
    entry["provenance"] = {
        "command": command,
        "questions": str(
            args.questions.relative_to(ROOT) if args.questions.is_relative_to(ROOT) else args.questions
        ),
        "label": "1 = answerable; the answerer declines when p < threshold",
        "features_sha256": data_hash,
        "reranker_fingerprint": fingerprint,
        # The features are read from this many passages: the engine must read as many (a test checks).
        "neural_passages": Settings().retrieval.neural_passages,
        "k": Settings().retrieval.k,  # ... and the scope features from this many passages
        "per_doc_cap": Settings().retrieval.per_doc_cap,
        "l2": l2,
        "signs": dict(zip(features, signs_of(features), strict=True)),
        "max_false_abstention": args.max_false_abstention,
        "cross_validation": cv,
        "seconds": round(time.time() - started),
    }
    existing = json.loads(args.out.read_text(encoding="utf-8")) if args.out.is_file() else {}
    existing[ABSTAIN_MODEL_NAME] = entry
    args.out.write_text(json.dumps(existing, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(cv, indent=1))
    print("weights:", dict(zip(features, (round(w, 3) for w in final.weights), strict=True)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
