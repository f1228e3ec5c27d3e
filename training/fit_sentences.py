"""Fit the answerer's sentence-selection model (rag/models/sentence.json) on managers-dev.

    CHANGEGUIDE_INDEX__DIR=/tmp/at-lib nice -n 10 .venv/bin/python training/fit_sentences.py

The index must hold corpus/ and ../shared/docs (`changeguide ingest corpus ../shared/docs`).
For every answerable question of the tuning split the engine retrieves its passages as `ask`
does (follow-ups rewritten with their history); each shortlisted sentence is one example, with
the features of rag/answer/features.py and the label "its quote overlaps a gold phrase in a
gold document". A logistic model (rag.models.linear.fit_logistic) is fitted; its L2 penalty and
the selection floors (relative to the best sentence's probability) are chosen by seeded k-fold
cross-validation over questions. The held-out split (managers-test) is refused.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.answer.base import Draft
from rag.answer.citations import excerpt_bounds
from rag.answer.extractive import ExtractiveGenerator
from rag.answer.features import FEATURES, SentenceInput, pool_features
from rag.answer.intent import classify
from rag.answer.sentences import is_question
from rag.answer.terms import content_terms
from rag.config import Settings
from rag.evals.questions import load_questions, resolve_gold
from rag.models.linear import LinearModel, fit_logistic
from rag.types import ScoredChunk

REPO = Path(__file__).resolve().parent.parent
DEFAULT_QUESTIONS = REPO / "evals" / "questions" / "managers-dev.jsonl"
DEFAULT_OUT = REPO / "rag" / "models" / "sentence.json"
L2_GRID = (1.0, 10.0, 30.0, 100.0, 300.0)
# No floor below min_words: the answer always reaches the product's length target
# (AnswerSettings.min_words) when the passages hold enough; past it, the extend floor decides.
RELATIVE_GRID = (0.0,)
EXTEND_GRID = (0.5, 0.6, 0.7, 0.8, 0.9)
MIN_WORDS, MAX_WORDS = 60, 200  # AnswerSettings defaults, as the simulation's word budget
MAX_SENTENCES = 8  # as rag/answer/extractive.py

# The hand-weighted score this model replaces (for the CV comparison only).
HAND_WEIGHTS = {"cosine": 0.55, "coverage": 0.2, "subject": 0.1, "passage_prior": 0.15}


POOL_SIZE = 40  # candidates collected per question; shorter shortlists are its prefixes
SHORTLIST_GRID = (16, 24, 32)
CACHE = Path("/tmp/changeguide-fit-sentences.pkl")  # collected pools, keyed by data hash and index


@dataclass
class Pool:
    """One question's shortlist in the answerer's lexical order, with labels."""

    qid: str
    style: str
    question: str
    items: list[SentenceInput]
    labels: dict[str, list[int]]  # per label kind (LABELS), one per item
    orphans: list[bool]
    any_positive: bool  # some quotable sentence's excerpt holds a gold phrase (shortlisted or not)


# What a candidate may be trained to predict: its quote overlaps a gold phrase ("sentence"), the
# excerpt its citation would show holds one ("excerpt": what the evaluation's phrase hit counts),
# or it comes from a gold document ("gold-doc": what citation precision counts).
LABELS = ("sentence", "excerpt", "gold-doc")


@dataclass
class Row:
    qid: str
    style: str
    x: list[float]
    y: int  # the training label
    hit: int  # "excerpt": scored as the selection's hit
    gold: int  # "gold-doc": scored as the selection's precision
    words: int
    orphan: bool


class _Collector:
    """A stand-in answer backend that records the shortlist `ask` would score."""

    name = "collect"

    def __init__(self, inner: ExtractiveGenerator) -> None:
        self.inner = inner
        self.pools: list[tuple[str, list, list]] = []

    def generate(
        self, question: str, passages: Sequence[ScoredChunk], *, on_token: Callable[[str], None] | None = None
    ) -> Draft:
        every = self.inner._candidates(passages, set(content_terms(question)))
        self.pools.append((question, self.inner.pool(question, passages), every))
        return Draft(text="", sentences=(), citations=(), abstained=True)


def _phrase_spans(text: str, phrases: Sequence[str]) -> list[tuple[int, int]]:
    spans = []
    for phrase in phrases:
        pattern = r"\s+".join(re.escape(w) for w in phrase.split())
        spans += [m.span() for m in re.finditer(pattern, text, re.IGNORECASE)]
    return spans


def _labels(candidate, gold: set[str], phrases: Sequence[str]) -> dict[str, int]:
    chunk = candidate.passage.chunk
    if chunk.doc_id not in gold:
        return dict.fromkeys(LABELS, 0)
    spans = _phrase_spans(chunk.text, phrases)
    lo, hi = excerpt_bounds(chunk.text, candidate.sentences, candidate.first, candidate.index)
    return {
        "sentence": int(any(a < candidate.sentence.end and candidate.start < b for a, b in spans)),
        "excerpt": int(any(lo <= a and b <= hi for a, b in spans)),
        "gold-doc": 1,
    }


def collect(index_dir: str, questions_path: Path) -> tuple[list[Pool], str]:
    """Every answerable question's shortlist, retrieved as `ask` does (cached in CACHE)."""
    from rag.engine import ChangeGuide

    settings = Settings().with_index_dir(Path(index_dir))
    engine = ChangeGuide(settings)
    fingerprint = engine.index.fingerprint
    # The pools are the passages `ask` hands over: they change with the index, the cross-encoder and
    # the retrieval settings, so all of them key the cache.
    retrieval = settings.retrieval.model_dump_json()
    questions_hash = hashlib.sha256(questions_path.read_bytes()).hexdigest()
    key = (questions_hash, fingerprint, engine.reranker_fingerprint, retrieval, POOL_SIZE)
    if CACHE.exists():
        cached_key, pools = pickle.loads(CACHE.read_bytes())
        if cached_key == key:
            engine.close()
            return pools, fingerprint
    n = len(FEATURES)
    zero = LinearModel("bootstrap", FEATURES, (0.0,) * n, 0.0, (0.0,) * n, (1.0,) * n)
    inner = ExtractiveGenerator(engine.embedder, settings.answer, model=zero)
    inner.shortlist_size = POOL_SIZE
    collector = _Collector(inner)
    engine.register_generator(collector)
    documents = [(r.doc_id, r.source) for r in engine.documents()]
    pools: list[Pool] = []
    try:
        for q in load_questions(questions_path):
            if not q.answerable:
                continue
            gold, _ = resolve_gold(q.gold_sources, documents)
            collector.pools.clear()
            engine.ask(q.question, history=q.turns, backend="collect")
            ((standalone, pool, every),) = collector.pools
            labels = [_labels(c, gold, q.gold_phrases) for c in pool]
            pools.append(
                Pool(
                    qid=q.id,
                    style=q.style or "",
                    question=standalone,
                    items=[c.item for c in pool],
                    labels={kind: [label[kind] for label in labels] for kind in LABELS},
                    orphans=[c.orphan for c in pool],
                    any_positive=any(_labels(c, gold, q.gold_phrases)["excerpt"] for c in every),
                )
            )
    finally:
        engine.close()
    CACHE.write_bytes(pickle.dumps((key, pools)))
    return pools, fingerprint


def rows_for(pools: Sequence[Pool], size: int, label: str) -> list[Row]:
    """The examples of a shortlist of `size`: the first `size` of each pool, features recomputed."""
    rows = []
    for pool in pools:
        items = pool.items[:size]
        terms = set(content_terms(pool.question))
        features = pool_features(items, pool.question, terms, classify(pool.question))
        for i, (item, values) in enumerate(zip(items, features, strict=True)):
            if pool.orphans[i] or is_question(item.text):
                continue  # never quoted, so not an example (it still counts in the relative features)
            x = [values[f] for f in FEATURES]
            labels = pool.labels
            rows.append(
                Row(
                    pool.qid,
                    pool.style,
                    x,
                    labels[label][i],
                    labels["excerpt"][i],
                    labels["gold-doc"][i],
                    item.n_words,
                    False,
                )
            )
    return rows


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    order = np.argsort(p)
    ranks = np.empty(len(p))
    ranks[order] = np.arange(1, len(p) + 1)
    pos = y == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return (
        float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
        if n_pos and n_neg
        else float("nan")
    )


def _by_question(rows: Sequence[Row]) -> dict[str, list[int]]:
    by_q: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_q.setdefault(r.qid, []).append(i)
    return by_q


def _simulate(
    rows: list[Row], scores: np.ndarray, relative: float, extend: float, n_target: int
) -> tuple[float, float, float, float]:
    """The selection of rag/answer/extractive.py (without the duplicate check) per question:
    (share of the `n_target` questions whose passages hold a gold phrase that get an excerpt
    holding one, share of the chosen sentences from a gold document)."""
    hits, chosen_pos, chosen_all, long_enough, n_answers, total_words = 0, 0, 0, 0, 0, 0
    for idx in _by_question(rows).values():
        ranked = sorted((i for i in idx if not rows[i].orphan), key=lambda i: -scores[i])
        if not ranked:
            continue
        best, words, chosen = scores[ranked[0]], 0, []
        for i in ranked:
            if scores[i] < relative * best or len(chosen) >= MAX_SENTENCES:
                break
            if words >= MIN_WORDS and scores[i] < extend * best:
                break
            if chosen and words + rows[i].words > MAX_WORDS:
                continue
            chosen.append(i)
            words += rows[i].words
        hits += any(rows[i].hit for i in chosen)
        chosen_pos += sum(rows[i].gold for i in chosen)
        chosen_all += len(chosen)
        long_enough += words >= MIN_WORDS
        n_answers += 1
        total_words += words
    n = max(1, n_answers)
    return hits / max(1, n_target), chosen_pos / max(1, chosen_all), long_enough / n, total_words / n


def _top1(rows: list[Row], scores: np.ndarray) -> float:
    useful = [
        [i for i in idx if not rows[i].orphan]
        for idx in _by_question(rows).values()
        if any(rows[i].hit and not rows[i].orphan for i in idx)
    ]
    return sum(rows[max(idx, key=lambda i: scores[i])].hit for idx in useful) / max(1, len(useful))


def _floors(
    rows: list[Row], scores: np.ndarray, n_target: int, min_long: float = 0.0, max_words: float = MAX_WORDS
) -> dict[str, float]:
    """Selection floors maximising (questions with a gold phrase in a chosen excerpt) + (share of
    chosen sentences from a gold document): the evaluation's phrase hit plus citation precision,
    among floors whose answers reach MIN_WORDS at least as often as `min_long` and are no longer
    on average than `max_words` (the hand-weighted selection's figures): neither shorter nor
    longer answers than the selection this replaces."""
    grid = []
    for relative in RELATIVE_GRID:
        for extend in EXTEND_GRID:
            if extend >= relative:
                hit, precision, long, words = _simulate(rows, scores, relative, extend, n_target)
                if long >= min_long and words <= max_words:
                    grid.append((hit + precision, relative, extend, hit, precision, long, words))
    if not grid:  # no floors meet both length bounds: this fit is not a candidate
        return {"relative_floor": 1.0, "extend_floor": 1.0, "hit": 0.0, "precision": 0.0,
                "reach_min_words": 0.0, "mean_words": 0.0, "objective": -1.0}  # fmt: skip
    objective, relative, extend, hit, precision, long, words = max(grid)
    return {
        "relative_floor": relative,
        "extend_floor": extend,
        "hit": round(hit, 4),
        "precision": round(precision, 4),
        "reach_min_words": round(long, 4),
        "mean_words": round(words, 1),
        "objective": round(objective, 4),
    }


def _weights(rows: Sequence[Row]) -> np.ndarray:
    """Each question weighs the same, however many candidates it has."""
    counts = {q: len(idx) for q, idx in _by_question(rows).items()}
    w = np.array([1.0 / counts[r.qid] for r in rows])
    return w * len(rows) / w.sum()


WEIGHTINGS = ("per-example", "per-question", "pairwise")


def _fit(
    rows: Sequence[Row], x: np.ndarray, y: np.ndarray, mask: np.ndarray, weighting: str, l2: float
) -> LinearModel:
    """Fit on the examples in `mask`: pointwise (each example, or each question, weighing the
    same) or pairwise (a positive minus a negative of the same question, both ways round: a
    linear ranking model whose probability orders candidates, uncalibrated)."""
    if weighting != "pairwise":
        sw = (
            _weights([r for r, m in zip(rows, mask, strict=True) if m])
            if weighting == "per-question"
            else None
        )
        return fit_logistic(x[mask], y[mask], FEATURES, name="sentence", l2=l2, sample_weight=sw)
    diffs = []
    for idx in _by_question(rows).values():
        idx = [i for i in idx if mask[i]]
        pos = [i for i in idx if y[i]]
        neg = [i for i in idx if not y[i]]
        diffs += [x[i] - x[j] for i in pos for j in neg]
    d = np.array(diffs)
    pairs = np.vstack([d, -d])
    labels = np.concatenate([np.ones(len(d)), np.zeros(len(d))])
    return fit_logistic(pairs, labels, FEATURES, name="sentence", l2=l2)


def cross_validate(rows: list[Row], folds: int, seed: int, n_target: int) -> dict[str, object]:
    """Out-of-fold figures (folds over questions) for each penalty and weighting, and the
    hand-weighted score this model replaces, on the same examples."""
    x = np.array([r.x for r in rows])
    y = np.array([r.y for r in rows])
    qids = sorted({r.qid for r in rows})
    rng = np.random.default_rng(seed)
    fold_of = {q: i % folds for i, q in enumerate(rng.permutation(qids))}
    fold = np.array([fold_of[r.qid] for r in rows])
    results: dict[str, object] = {}
    hand = sum(w * x[:, FEATURES.index(f)] for f, w in HAND_WEIGHTS.items())
    hand = hand - 0.03 * x[:, FEATURES.index("short")] + 0.1 * x[:, FEATURES.index("list_asked")]
    shipped_hit, shipped_precision, shipped_long, shipped_words = _simulate(rows, hand, 0.6, 0.8, n_target)
    best: tuple[float, str, float, str] | None = None
    for weighting in WEIGHTINGS:
        for l2 in L2_GRID:
            oof = np.zeros(len(rows))
            for k in range(folds):
                train = fold != k
                model = _fit(rows, x, y, train, weighting, l2)
                oof[~train] = model.proba(x[~train])
            p = np.clip(oof, 1e-6, 1 - 1e-6)
            loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
            floors = _floors(rows, oof, n_target, shipped_long, shipped_words)
            name = f"{weighting} l2={l2}"
            results[name] = {
                "log_loss": round(loss, 4),
                "auc": round(_auc(y, oof), 4),
                "top1": round(_top1(rows, oof), 4),
                **floors,
            }
            if best is None or floors["objective"] > best[0]:
                best = (floors["objective"], name, l2, weighting)
    results["hand_weighted"] = {
        "auc": round(_auc(y, hand), 4),
        "top1": round(_top1(rows, hand), 4),
        "hit_at_shipped_floors": round(shipped_hit, 4),
        "precision_at_shipped_floors": round(shipped_precision, 4),
        "reach_min_words_at_shipped_floors": round(shipped_long, 4),
        "mean_words_at_shipped_floors": round(shipped_words, 1),
        **_floors(rows, hand, n_target, shipped_long, shipped_words),
    }
    assert best is not None
    results["chosen"] = {"name": best[1], "l2": best[2], "weighting": best[3]}
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--index", default=None, help="index dir (default $CHANGEGUIDE_INDEX__DIR)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--shortlists",
        type=int,
        nargs="+",
        default=list(SHORTLIST_GRID),
        help="shortlist lengths to choose from (each costs its embedding time on every question: "
        "benchmarks/bench_query.py says which fit the latency budget)",
    )
    args = parser.parse_args(argv)
    if max(args.shortlists) > POOL_SIZE:
        parser.error(f"a shortlist cannot be longer than the {POOL_SIZE} candidates collected")
    if "test" in args.questions.name:
        parser.error("the held-out split is never used for fitting; use managers-dev.jsonl")
    index_dir = args.index or Settings().index.dir
    pools, fingerprint = collect(index_dir, args.questions)
    n_target = sum(p.any_positive for p in pools)
    by_size = {}
    for size in args.shortlists:
        for label in LABELS:
            rows = rows_for(pools, size, label)
            cv = cross_validate(rows, args.folds, args.seed, n_target)
            cv["chosen"]["label"] = label  # type: ignore[index]
            chosen = cv[str(cv["chosen"]["name"])]  # type: ignore[index]
            by_size[(size, label)] = (chosen["objective"], rows, cv)  # type: ignore[index]
            print(f"shortlist {size} label {label}: {cv['chosen']} {chosen}", file=sys.stderr)
    # The shortest shortlist within one question's worth of the best objective: a longer one
    # costs embedding time on every question for a difference the dev split cannot tell apart.
    top = max(v[0] for v in by_size.values())
    near = [n for n in by_size if by_size[n][0] >= top - 1 / n_target]
    key = min(near, key=lambda n: (n[0], -by_size[n][0]))
    size, label = key
    _, rows, cv = by_size[key]
    chosen = cv["chosen"]  # type: ignore[assignment]
    x = np.array([r.x for r in rows])
    y = np.array([r.y for r in rows])
    everything = np.ones(len(rows), dtype=bool)
    model = _fit(rows, x, y, everything, str(chosen["weighting"]), float(chosen["l2"]))  # type: ignore[index]
    picked = cv[str(chosen["name"])]  # type: ignore[index]
    entry = model.to_json()
    entry["provenance"] = {
        "command": "python training/fit_sentences.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "shortlists_considered": args.shortlists,
        "data": str(args.questions.resolve().relative_to(REPO)),
        "data_sha256": hashlib.sha256(args.questions.read_bytes()).hexdigest()[:16],
        "index": "corpus/ + ../shared/docs",
        "index_fingerprint": fingerprint,
        "label": label,
        "labels": "sentence: its quote overlaps a gold phrase of a gold document; excerpt: the excerpt "
        "its citation would show holds one; gold-doc: it comes from a gold document",
        "questions": len(pools),
        "questions_with_a_positive_in_their_passages": n_target,
        "examples": len(rows),
        "positives": int(y.sum()),
        "folds": args.folds,
        "seed": args.seed,
        "cv": {"l2": chosen["l2"], **{k: v for k, v in cv.items() if k != "chosen"}, "chosen": chosen},  # type: ignore[index]
        "cv_by_shortlist_and_label": {
            f"{n}/{lab}": by_size[(n, lab)][2]["chosen"] | {"objective": by_size[(n, lab)][0]}  # type: ignore[operator]
            for n, lab in by_size
        },
        "selection": {
            "shortlist_size": size,
            "relative_floor": picked["relative_floor"],
            "extend_floor": picked["extend_floor"],
            "oof_hit": picked["hit"],
            "oof_precision": picked["precision"],
        },
    }
    args.out.write_text(json.dumps({"sentence": entry}, indent=2) + "\n", encoding="utf-8")
    json.dump(entry["provenance"], sys.stdout, indent=2)
    sys.stdout.write("\n")
    for name, w in sorted(zip(FEATURES, model.weights, strict=True), key=lambda t: -abs(t[1])):
        print(f"{name:>16} {w:+.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
