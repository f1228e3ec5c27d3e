"""Near-duplicate detection: quality and speed of MinHash + LSH against exact Jaccard and SimHash.

Usage: python benchmarks/bench_dedup.py [--variants N] [--seed S]

The passages are the chunks of the starter library (corpus/*.md) plus, for N of its briefs,
"next year's edition" with about 10% of sentences reworded and another brief's text appended
(as a trust's annual reports repeat most of last year's). A pair of chunks from different
documents is a true near-duplicate when the exact Jaccard similarity of their word 3-shingles
reaches DUPLICATE_JACCARD (brute force over all pairs). Each method is scored by precision and
recall of the pairs it links, and timed (signing + lookup of every chunk). No model is needed.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import sys
import time
from pathlib import Path

import numpy as np

from rag.config import Settings
from rag.index.duplicates import (
    DUPLICATE_JACCARD,
    LSH_THRESHOLD,
    DuplicateFinder,
    shingles,
    signatures,
)
from rag.ingest.chunking import chunk_document
from rag.ingest.loaders import loader_for

REPO = Path(__file__).resolve().parents[1]
SIMHASH_BITS = 64
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
SWAPS = {"the": "our", "and": "as well as", "is": "remains", "team": "group", "staff": "colleagues"}


def reword(text: str, rng: random.Random, share: float = 0.1) -> str:
    """`text` with about `share` of its sentences reworded (a few words swapped)."""
    out = []
    for sentence in _SENTENCE.split(text):
        if rng.random() < share:
            sentence = " ".join(SWAPS.get(w, w) for w in sentence.split())
        out.append(sentence)
    return " ".join(out)


def build_passages(n_variants: int, seed: int) -> tuple[list[str], list[str]]:
    """(doc label, chunk text) lists: the briefs' chunks and their edited next editions."""
    rng = random.Random(seed)
    settings = Settings()
    briefs = sorted(p for p in (REPO / "corpus").glob("*.md") if p.name != "README.md")
    docs: list[tuple[str, str]] = []
    for path in briefs:
        doc = loader_for(path)(path, settings)
        docs.append((path.stem, doc.text))
    for i, (name, text) in enumerate(docs[:n_variants]):
        extra = docs[(i + n_variants) % len(docs)][1]
        docs.append((f"{name}-next", reword(text, rng) + "\n\n" + extra[: len(extra) // 2]))
    labels, texts = [], []
    for name, text in docs:
        from rag.types import SourceDocument

        chunks = chunk_document(
            SourceDocument(doc_id=name, title=name, source=name, format="markdown", text=text),
            settings.chunking,
        )
        labels += [name] * len(chunks)
        texts += [c.text for c in chunks]
    return labels, texts


def exact_pairs(labels: list[str], sets: list[set[bytes]]) -> tuple[set[tuple[int, int]], float]:
    started = time.perf_counter()
    pairs = set()
    for i in range(len(sets)):
        for j in range(i + 1, len(sets)):
            if labels[i] == labels[j] or not sets[i] or not sets[j]:
                continue
            inter = len(sets[i] & sets[j])
            if inter and inter / (len(sets[i]) + len(sets[j]) - inter) >= DUPLICATE_JACCARD:
                pairs.add((i, j))
    return pairs, time.perf_counter() - started


def minhash_pairs(labels: list[str], texts: list[str]) -> tuple[set[tuple[int, int]], float]:
    started = time.perf_counter()
    sigs = signatures(texts)
    finder = DuplicateFinder()
    pairs = set()
    by_id = {str(i): i for i in range(len(texts))}
    for i in range(len(texts)):  # chunks arrive one after another, as documents do at ingest
        for link in finder.links(labels[i], [str(i)], sigs[i : i + 1]):
            a, b = by_id[link.chunk_id], by_id[link.other_id]
            pairs.add((min(a, b), max(a, b)))
        finder.add(labels[i], [str(i)], sigs[i : i + 1])
    return pairs, time.perf_counter() - started


def _simhash(shingle_set: set[bytes]) -> int:
    """Charikar's SimHash of the shingles (each a blake2b 64-bit hash, unweighted)."""
    if not shingle_set:
        return 0
    digests = np.frombuffer(
        b"".join(hashlib.blake2b(s, digest_size=8).digest() for s in shingle_set), dtype=np.uint8
    ).reshape(-1, 8)
    bits = np.unpackbits(digests, axis=1)  # one row of 64 bits per shingle
    votes = bits.sum(axis=0) * 2 > len(digests)
    return int("".join("1" if v else "0" for v in votes), 2)


def simhash_pairs(
    labels: list[str], sets: list[set[bytes]], max_distance: int
) -> tuple[set[tuple[int, int]], float]:
    started = time.perf_counter()
    hashes = [_simhash(s) for s in sets]
    pairs = set()
    for i in range(len(hashes)):
        for j in range(i + 1, len(hashes)):
            if labels[i] != labels[j] and (hashes[i] ^ hashes[j]).bit_count() <= max_distance:
                pairs.add((i, j))
    return pairs, time.perf_counter() - started


def score(found: set, truth: set) -> tuple[float, float]:
    hits = len(found & truth)
    return (hits / len(found) if found else 1.0), (hits / len(truth) if truth else 1.0)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=20, help="briefs given an edited next edition")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    labels, texts = build_passages(args.variants, args.seed)
    sets = [shingles(t) for t in texts]
    print(f"{len(texts)} chunks in {len(set(labels))} documents; threshold Jaccard {DUPLICATE_JACCARD}")
    truth, exact_s = exact_pairs(labels, sets)
    print(f"exact Jaccard (brute force): {len(truth)} near-duplicate pairs in {exact_s:.2f} s")
    found, seconds = minhash_pairs(labels, texts)
    p, r = score(found, truth)
    print(
        f"MinHash+LSH (datasketch, 128 perms, LSH {LSH_THRESHOLD}): {len(found)} pairs, "
        f"precision {p:.3f}, recall {r:.3f}, {seconds:.2f} s ({1000 * seconds / len(texts):.2f} ms/chunk)"
    )
    for distance in (3, 6, 10):
        found, seconds = simhash_pairs(labels, sets, distance)
        p, r = score(found, truth)
        print(
            f"SimHash 64-bit, Hamming <= {distance}: {len(found)} pairs, precision {p:.3f}, recall {r:.3f}, "
            f"{seconds:.2f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
