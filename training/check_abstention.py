"""How a fitted abstention model does on question sets it was not fitted on.

    .venv/bin/python training/check_abstention.py --index /tmp/lib --questions training/data/traps-briefs.jsonl \
        training/data/traps-docs.jsonl [--model rag/models/abstain.json ...] [--cache /tmp/check-cache.json]

Each question is asked through the engine as fit_abstention.py asks the dev split (neural stage on,
follow-ups rewritten with their history) and its features are read from the passages handed to
the answerer. Every `--model` file (default: the shipped one) is then scored on them: how well it
separates answerable from out-of-scope questions (AUC), and at its own threshold (and support
floors) the share of answerable questions declined and of out-of-scope ones declined, overall
and per style. A model fitted on a feature subset (`fit_abstention.py --features ... --out F`)
reads only its own features, so ablations compare on the same collection.

Use it on sets the model was not fitted on, and for the held-out split only to report, never to
choose.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "training"))

import numpy as np  # noqa: E402
from fit_abstention import collect  # noqa: E402
from train_reranker import auc as roc_auc  # noqa: E402

from rag.answer.abstain import (  # noqa: E402
    ABSTAIN_MODEL_FILE,
    ABSTAIN_MODEL_NAME,
    outside_support,
    support_floors,
)
from rag.models.linear import load_model  # noqa: E402


def auc(p_answerable: np.ndarray, p_out_of_scope: np.ndarray) -> float | None:
    """P(a random answerable question scores above a random out-of-scope one); ties count half.
    None when either side is empty."""
    if not len(p_answerable) or not len(p_out_of_scope):
        return None
    labels = np.r_[np.ones(len(p_answerable)), np.zeros(len(p_out_of_scope))]
    return roc_auc(labels, np.r_[p_answerable, p_out_of_scope])


def check(rows: list[dict], model_file: Path) -> dict:
    """The figures of one model file on the collected rows."""
    model = load_model(model_file, ABSTAIN_MODEL_NAME)
    floors = support_floors(model_file)
    threshold = model.threshold if model.threshold is not None else 0.5
    p = np.array(
        [0.0 if outside_support(r["features"], floors) else model.score(r["features"]) for r in rows]
    )
    answerable = np.array([r["answerable"] for r in rows], dtype=bool)
    declined = p < threshold

    def shares(mask: np.ndarray) -> dict:
        a, o = mask & answerable, mask & ~answerable
        return {
            "answerable": int(a.sum()),
            "out_of_scope": int(o.sum()),
            "false_abstentions": round(float(declined[a].mean()), 3) if a.any() else None,
            "out_of_scope_declined": round(float(declined[o].mean()), 3) if o.any() else None,
        }

    styles = sorted({r["style"] for r in rows})
    return {
        "model": str(model_file),
        "threshold": round(threshold, 4),
        "auc": None if (a := auc(p[answerable], p[~answerable])) is None else round(a, 3),
        "all": shares(np.ones(len(rows), dtype=bool)),
        "per_style": {s: shares(np.array([r["style"] == s for r in rows])) for s in styles},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--questions", type=Path, nargs="+", required=True)
    parser.add_argument("--model", type=Path, nargs="+", default=[ABSTAIN_MODEL_FILE])
    parser.add_argument("--workers", type=int, default=2, help="processes asking the questions")
    parser.add_argument("--cache", type=Path, default=None, help="reuse/keep the collected features here")
    args = parser.parse_args(argv)
    if args.cache is not None and args.cache.is_file():
        rows = json.loads(args.cache.read_text(encoding="utf-8"))["rows"]
    else:
        rows = [row for path in args.questions for row in collect(args.index, path, args.workers)[0]]
        if args.cache is not None:
            args.cache.write_text(json.dumps({"rows": rows}), encoding="utf-8")
    print(json.dumps([check(rows, path) for path in args.model], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
