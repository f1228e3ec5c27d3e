"""How often the verification thresholds accept supported and unsupported sentences.

On the starter library (corpus/*.md), each sampled excerpt (a real chunk) is "cited" by:
- supported claims: a quotable sentence of that chunk cut to its first clause (what a model
  that compresses its source writes) and the whole sentence;
- hard negatives: a sentence of another chunk of the same document (same topic, not in this excerpt);
- easy negatives: a sentence of another document.
For each claim we compute what `rag.llm.verify` computes (content-word recall and the best
cosine with a sentence of the excerpt) and report acceptance rates at the current thresholds
and around them.

    .venv/bin/python benchmarks/verify_thresholds.py [--per-doc 3]
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

import numpy as np

from rag.answer.sentences import is_quotable, split_sentences
from rag.answer.terms import content_terms
from rag.config import Settings
from rag.index.embedding import make_embedder
from rag.ingest.chunking import chunk_document
from rag.ingest.loaders.markdown import load
from rag.llm.verify import MIN_CLAIM_TERMS, MIN_EMBEDDING_COSINE, MIN_LEXICAL_RECALL, lexical_recall

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
_CLAUSE = re.compile(r",|;| but | which | because ")


def first_clause(sentence: str) -> str | None:
    head = _CLAUSE.split(sentence, maxsplit=1)[0].strip()
    return head + "." if len(head.split()) >= 6 and head != sentence.rstrip(".") else None


NOT_BRIEFS = {"README.md", "VERIFICATION.md"}  # corpus/ files that are not briefs (catalogue, verification)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-doc", type=int, default=3, help="excerpts sampled per document")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    settings = Settings()
    docs = [load(path, settings) for path in sorted(CORPUS.glob("*.md")) if path.name not in NOT_BRIEFS]
    chunks = {doc.doc_id: chunk_document(doc, settings.chunking) for doc in docs}
    quotable = {
        c.id: [" ".join(s.text.split()) for s in split_sentences(c.text) if is_quotable(s)]
        for cs in chunks.values()
        for c in cs
    }
    cases: list[tuple[str, str, object]] = []  # (label, claim, chunk)
    for doc in docs:
        own = [c for c in chunks[doc.doc_id] if quotable[c.id]]
        for chunk in rng.sample(own, min(args.per_doc, len(own))):
            sentence = rng.choice(quotable[chunk.id])
            cases.append(("supported: whole sentence", sentence, chunk))
            if clause := first_clause(sentence):
                cases.append(("supported: first clause", clause, chunk))
            others = [s for c in own if c.id != chunk.id for s in quotable[c.id] if s not in chunk.text]
            if others:
                cases.append(("unsupported: same document", rng.choice(others), chunk))
            other_doc = rng.choice([d for d in docs if d.doc_id != doc.doc_id])
            foreign = [s for c in chunks[other_doc.doc_id] for s in quotable[c.id]]
            cases.append(("unsupported: other document", rng.choice(foreign), chunk))

    embedder = make_embedder(settings.embedding)
    sources = {
        chunk.id: [" ".join(s.text.split()) for s in split_sentences(chunk.text) if s.n_words >= 3]
        for _, _, chunk in cases
    }
    texts = list(dict.fromkeys([claim for _, claim, _ in cases] + [t for ts in sources.values() for t in ts]))
    vectors = dict(zip(texts, embedder.embed_batch(texts), strict=True))  # one batch: texts repeat a lot
    rows: dict[str, list[tuple[float, float, int]]] = {}
    for label, claim, chunk in cases:
        cosine = max(float(vectors[t] @ vectors[claim]) for t in sources[chunk.id])
        lexical = lexical_recall(claim, set(content_terms(chunk.text)))
        rows.setdefault(label, []).append((lexical, cosine, len(set(content_terms(claim)))))

    grid = [
        (MIN_LEXICAL_RECALL + dl, MIN_EMBEDDING_COSINE + dc) for dl in (-0.1, 0, 0.1) for dc in (-0.1, 0, 0.1)
    ]
    print(
        f"{len(docs)} documents, {len(cases)} claims; current thresholds: lexical >= {MIN_LEXICAL_RECALL}, "
        f"cosine >= {MIN_EMBEDDING_COSINE}, content words >= {MIN_CLAIM_TERMS}\n"
    )
    print(f"{'claims':30} {'n':>4}  " + "  ".join(f"L{lx:.2f}/C{cs:.2f}" for lx, cs in grid))
    for label in sorted(rows):
        values = rows[label]
        rates = [
            np.mean([lx >= lt and cs >= ct and n >= MIN_CLAIM_TERMS for lx, cs, n in values])
            for lt, ct in grid
        ]
        print(f"{label:30} {len(values):4}  " + "  ".join(f"{rate:11.1%}" for rate in rates))


if __name__ == "__main__":
    main()
