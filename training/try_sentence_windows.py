"""Experiment (not shipped): the cross-encoder reading single sentences as an abstention feature.

    HF_HUB_OFFLINE=1 .venv/bin/python training/try_sentence_windows.py --index /tmp/lib \
        --cache-dev /tmp/sw-dev.json --cache-check /tmp/sw-traps.json

The shipped cross-encoder reads one 64-word window per passage. A near-domain trap finds passages
about its subject, so that window can score high although no sentence in it answers. This script
tries to catch that: the model scores the question against every sentence, and every pair of
adjacent sentences, of the passages it judged (each with the passage's title and section in
front). It also scores the answerer's shortlisted sentences, which is cheaper. The maxima and
means of those scores are added one at a time to the shipped features
(rag.answer.abstain.FEATURES), each held to a positive direction. Each set is then measured the
way fit_abstention.py chooses its L2 penalty: out of scope declined at the 5% false-abstention
budget, out of fold on managers-dev, mean over seeds 13-17. A model fitted on all of dev is then
applied at its seed-13 threshold to the trap files (training/data/traps-*.jsonl), which neither
model was fitted on. Result and decision: training/README.md, "Sentence windows".
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "training"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import fit_abstention as fa  # noqa: E402
import numpy as np  # noqa: E402
from check_abstention import auc  # noqa: E402

from rag.answer.abstain import ABSTAIN_MODEL_NAME, FEATURES  # noqa: E402
from rag.models.linear import fit_logistic  # noqa: E402

NO_SCORE = -10.0  # below any logit the model gives: a question with no sentence to read
# The candidate features, each added to FEATURES alone; all may only raise p(answerable).
WINDOW_FEATURES = (
    "sentence_max",  # best single sentence of the judged passages
    "pair_max",  # best pair of adjacent sentences
    "window_max",  # best of either
    "shortlist_max",  # best of the answerer's shortlisted sentences (with its antecedent)
    "shortlist_next_max",  # ... each with the sentence after it
    "top_passage_sentence_max",  # best sentence of the passage the model rated best
    "sentence_mean3",  # mean of the best three sentences
)


def _collect_part(job: tuple[Path, list[dict]]) -> list[dict]:
    from rag.answer.abstain import abstention_features
    from rag.answer.sentences import split_sentences
    from rag.config import Settings
    from rag.engine import ChangeGuide
    from rag.retrieve.cross_encoder import MODEL_DIR, passage_header, shared_scorer
    from rag.types import Turn

    index, questions = job
    engine = ChangeGuide(Settings().with_index_dir(index))
    generator = engine.generator("extractive")
    scorer = shared_scorer(MODEL_DIR, 1)
    rows = []
    for q in questions:
        history = [Turn(h.get("question", ""), h.get("answer", "")) for h in q.get("history") or []]
        standalone, passages = engine.passages(q["question"], history=history)
        evidence = generator.assess(standalone, passages)
        features = abstention_features(evidence, passages) if evidence is not None else None
        if features is None:
            continue
        judged = sorted((p for p in passages if p.neural_score is not None), key=lambda p: -p.neural_score)
        read = []
        for p in judged:
            header = passage_header(p.chunk)
            sentences = [s.text for s in split_sentences(p.chunk.text)]
            pairs = [f"{a} {b}" for a, b in zip(sentences, sentences[1:], strict=False)]
            read.append(
                {
                    "sentences": scorer.score(standalone, [f"{header}\n{s}" for s in sentences]).tolist(),
                    "pairs": scorer.score(standalone, [f"{header}\n{s}" for s in pairs]).tolist(),
                }
            )
        shortlist = [c for c in generator.pool(standalone, passages) if c.passage.neural_score is not None]
        alone, with_next = [], []
        for c in shortlist:
            header = passage_header(c.passage.chunk)
            quoted = " ".join(s.text for s in c.sentences[c.first : c.index + 1])
            after = c.sentences[c.index + 1].text if c.index + 1 < len(c.sentences) else ""
            alone.append(f"{header}\n{quoted}")
            with_next.append(f"{header}\n{quoted} {after}".rstrip())
        read_shortlist = {
            "alone": scorer.score(standalone, alone).tolist(),
            "with_next": scorer.score(standalone, with_next).tolist(),
        }
        rows.append(
            {
                "id": q["id"],
                "style": q.get("style", ""),
                "answerable": bool(q.get("answerable", True)),
                "features": features,
                "read": read,
                "shortlist": read_shortlist,
            }
        )
    engine.close()
    return rows


def collect(index: Path, paths: list[Path], workers: int) -> list[dict]:
    """One row per question of `paths`: the shipped features and the sentence windows' logits."""
    from mining import read_questions

    questions = [q for path in paths for q in read_questions(path)]
    jobs = [(index, questions[i::workers]) for i in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        by_id = {r["id"]: r for part in pool.map(_collect_part, jobs) for r in part}
    return [by_id[q["id"]] for q in questions if q["id"] in by_id]


def window_features(row: dict) -> dict[str, float]:
    """The candidate features of one collected row."""
    sentences = sorted((z for p in row["read"] for z in p["sentences"]), reverse=True) or [NO_SCORE]
    pairs = [z for p in row["read"] for z in p["pairs"]] or sentences
    top = (row["read"][0]["sentences"] if row["read"] else []) or [NO_SCORE]
    alone = row["shortlist"]["alone"] or [NO_SCORE]
    with_next = row["shortlist"]["with_next"] or [NO_SCORE]
    return {
        "sentence_max": sentences[0],
        "pair_max": max(pairs),
        "window_max": max(sentences[0], max(pairs)),
        "shortlist_max": max(alone),
        "shortlist_next_max": max(with_next),
        "top_passage_sentence_max": max(top),
        "sentence_mean3": float(np.mean(sentences[:3])),
    }


def _matrix(rows: list[dict], features: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    x = np.array([[{**r["features"], **window_features(r)}[f] for f in features] for r in rows])
    y = np.array([1.0 if r["answerable"] else 0.0 for r in rows])
    return x, y


def measure(dev: list[dict], check: list[dict], features: tuple[str, ...], budget: float = 0.05) -> dict:
    """Dev's cross-validated declined share (as fit_abstention.py chooses L2) and the check set's
    figures for the model fitted on all of dev, at dev's seed-13 out-of-fold threshold."""
    x, y = _matrix(dev, features)
    seeds = range(13, 18)

    def declined(l2: float) -> float:
        runs = []
        for seed in seeds:
            oof = fa.out_of_fold(x, y, fa.folds_of(len(y), 5, seed), 5, l2, features)
            runs.append(float((oof[y == 0] < fa.choose_threshold(oof, y, budget)).mean()))
        return float(np.mean(runs))

    by_l2 = {l2: declined(l2) for l2 in (0.1, 0.3, 1.0, 3.0, 10.0)}
    l2 = max(by_l2, key=lambda v: (by_l2[v], v))
    oof = fa.out_of_fold(x, y, fa.folds_of(len(y), 5, 13), 5, l2, features)
    threshold = fa.choose_threshold(oof, y, budget)
    model = fit_logistic(x, y, features, name=ABSTAIN_MODEL_NAME, l2=l2, signs=fa.signs_of(features))
    xc, yc = _matrix(check, features)
    p = model.proba(xc)
    return {
        "dev_declined_cv": round(by_l2[l2], 3),
        "l2": l2,
        "check_auc": round(auc(p[yc == 1], p[yc == 0]), 3),
        "check_false_abstention": round(float((p[yc == 1] < threshold).mean()), 3),
        "check_declined": round(float((p[yc == 0] < threshold).mean()), 3),
    }


def _cached(path: Path | None, index: Path, questions: list[Path], workers: int) -> list[dict]:
    if path is not None and path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    rows = collect(index, questions, workers)
    if path is not None:
        path.write_text(json.dumps(rows), encoding="utf-8")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--dev", type=Path, default=ROOT / "evals/questions/managers-dev.jsonl")
    parser.add_argument(
        "--check", type=Path, nargs="+", default=sorted((ROOT / "training/data").glob("traps-*.jsonl"))
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache-dev", type=Path, default=None)
    parser.add_argument("--cache-check", type=Path, default=None)
    args = parser.parse_args(argv)
    for name in WINDOW_FEATURES:
        fa.DIRECTIONS.setdefault(name, 1)
    dev = _cached(args.cache_dev, args.index, [args.dev], args.workers)
    check = _cached(args.cache_check, args.index, args.check, args.workers)
    print(f"dev {len(dev)} questions, check {len(check)}")
    print("shipped features", json.dumps(measure(dev, check, FEATURES)))
    for name in WINDOW_FEATURES:
        print(f"+ {name}", json.dumps(measure(dev, check, (*FEATURES, name))))
    for name in ("ce_top", *WINDOW_FEATURES):
        (x, y), (xc, yc) = _matrix(dev, (name,)), _matrix(check, (name,))
        dev_auc, check_auc = auc(x[y == 1, 0], x[y == 0, 0]), auc(xc[yc == 1, 0], xc[yc == 0, 0])
        print(f"{name} alone: AUC dev {dev_auc:.3f}, check {check_auc:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
