"""What the keyword index costs a replica at large library sizes: rebuild, save, reload, search.

    .venv/bin/python benchmarks/bench_bm25_reload.py [--sizes 100000 1000000] [--work DIR] [--json FILE]

Each app process holds its own bm25s index (rag/index/keyword.py). When another process changes
the library, a replica either reloads the saved index (the writer saved it) or rebuilds it from the
registry's texts. This measures both with the engine's own `KeywordIndex` on synthetic libraries
of real text: each chunk is about 1,400 characters (the 350-token chunks of the default settings)
of sentences drawn at random from corpus/ and the PubMedQA abstracts in ../shared/datasets.

Per size, in fresh processes so each resident-memory figure is that step's alone:
- registry read: SELECT id, doc_id, text of every chunk from a SQLite table like the registry's;
- build: tokenise and index (`KeywordIndex.build`), peak RSS of the process, then save; size on disk;
- reload: `KeywordIndex.load` in a new process: seconds and RSS once loaded;
  (`*_cpu_s` is the process's CPU time: on a shared machine it is what the step costs a core);
- search: median ms of 20 questions over the loaded index.
RSS figures include the interpreter and imports (about 100 MB, printed as `baseline`).

Sentence recombination keeps the vocabulary of the sources (tens of thousands of terms) where a
real library of a million chunks has more; bm25s' index grows with the postings (tokens), not the
vocabulary, so sizes and times follow the token count, which is realistic here.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PUBMEDQA = REPO.parent / "shared" / "datasets" / "pubmedqa-pqal-dev" / "pqal_dev.json"
CHUNK_CHARS = 1400  # about 350 cl100k tokens of English prose
CHUNKS_PER_DOC = 200
QUESTIONS = (
    "How do you read a run chart?",
    "What is a PDSA cycle?",
    "Why does psychological safety matter for teams?",
    "How can we reduce staff resistance to change?",
    "Does laparoscopic surgery reduce length of stay?",
    "What predicts mortality after hip fracture in older patients?",
    "How should we sustain an improvement once the project ends?",
    "Is there an association between obesity and asthma in children?",
    "How do we engage doctors in a service change?",
    "What is statistical process control?",
) * 2


def sentences() -> list[str]:
    """Real sentences: the starter briefs and PubMedQA's abstracts."""
    texts = [p.read_text(encoding="utf-8") for p in sorted((REPO / "corpus").glob("*.md"))]
    if PUBMEDQA.exists():
        for item in json.loads(PUBMEDQA.read_text(encoding="utf-8")).values():
            texts.extend(item["CONTEXTS"])
            texts.append(item["LONG_ANSWER"])
    found = []
    for text in texts:
        text = re.sub(r"^---.*?---", " ", text, flags=re.S)  # front matter
        for sentence in re.split(r"(?<=[.!?])\s+", re.sub(r"\s+", " ", text)):
            if 40 <= len(sentence) <= 400 and not sentence.startswith(("#", "|", "-")):
                found.append(sentence)
    return found


def synthetic_corpus(n: int, seed: int = 0) -> tuple[list[str], list[str], list[str]]:
    """`n` chunk ids, document ids and texts of recombined real sentences."""
    pool = sentences()
    rng = random.Random(seed)
    ids, docs, texts = [], [], []
    for i in range(n):
        parts, size = [], 0
        while size < CHUNK_CHARS:
            sentence = pool[rng.randrange(len(pool))]
            parts.append(sentence)
            size += len(sentence) + 1
        texts.append(" ".join(parts))
        ids.append(f"{i:064x}")  # the registry's ids are 64-hex content hashes
        docs.append(f"{i // CHUNKS_PER_DOC:064x}")
    return ids, docs, texts


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1024 / 1024


def step_build(n: int, work: Path) -> dict:
    """In this process: write the registry table, read it back, build and save the index."""
    from rag.index.keyword import KeywordIndex

    baseline = rss_mb()
    ids, docs, texts = synthetic_corpus(n)
    db = work / "registry.sqlite3"
    db.unlink(missing_ok=True)
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE chunks (id TEXT PRIMARY KEY, doc_id TEXT, ordinal INTEGER, text TEXT)")
        conn.executemany(
            "INSERT INTO chunks VALUES (?, ?, ?, ?)",
            ((c, d, i % CHUNKS_PER_DOC, t) for i, (c, d, t) in enumerate(zip(ids, docs, texts, strict=True))),
        )
    del ids, docs, texts
    started = time.perf_counter()
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, doc_id, text FROM chunks ORDER BY doc_id, ordinal").fetchall()
    ids, docs, texts = [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]
    del rows
    read_s = time.perf_counter() - started
    before_build = rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    index = KeywordIndex.build(ids, docs, texts, generation=1)
    build_s, build_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    peak = peak_rss_mb()
    del texts
    started = time.perf_counter()
    index.save(work / "bm25")
    save_s = time.perf_counter() - started
    return {
        "chunks": n,
        "baseline_rss_mb": round(baseline),
        "registry_mb": round(db.stat().st_size / 1024 / 1024),
        "registry_read_s": round(read_s, 2),
        "rss_before_build_mb": round(before_build),
        "build_s": round(build_s, 2),
        "build_cpu_s": round(build_cpu_s, 2),
        "build_peak_rss_mb": round(peak),
        "save_s": round(save_s, 2),
        "saved_mb": round(folder_mb(work / "bm25")),
    }


def step_load(work: Path) -> dict:
    """In this (fresh) process: load the saved index, then search it."""
    from rag.index.keyword import KeywordIndex

    baseline = rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    index = KeywordIndex.load(work / "bm25")
    load_s, load_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    if index is None:
        raise SystemExit(f"no index at {work / 'bm25'}")
    loaded = rss_mb()
    index.search(QUESTIONS[0], 40)  # first search pays for lazy setup
    times = []
    for question in QUESTIONS:
        started = time.perf_counter()
        index.search(question, 40)
        times.append((time.perf_counter() - started) * 1000)
    return {
        "load_s": round(load_s, 2),
        "load_cpu_s": round(load_cpu_s, 2),
        "loaded_rss_mb": round(loaded),
        "loaded_rss_over_baseline_mb": round(loaded - baseline),
        "search_p50_ms": round(statistics.median(times), 1),
    }


def run_step(step: str, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--step", step, *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--step", choices=("build", "load"), help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step == "build":
        print(json.dumps(step_build(args.n, args.work)))
        return 0
    if args.step == "load":
        print(json.dumps(step_load(args.work)))
        return 0
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-bm25-") as tmp:
        for n in args.sizes:
            work = (args.work or Path(tmp)) / f"n{n}"
            work.mkdir(parents=True, exist_ok=True)
            started = time.perf_counter()
            row = run_step("build", "--n", str(n), "--work", str(work))
            row |= run_step("load", "--work", str(work))
            row["wall_s"] = round(time.perf_counter() - started, 1)
            results.append(row)
            print(json.dumps(row), flush=True)
    if len(results) >= 2:
        # Linear in the chunk count: bm25s' postings, its arrays and the id lists all grow with it.
        # The ratios between the two largest runs show how close to linear each figure is.
        a, b = results[-2], results[-1]
        scale = 10_000_000 / b["chunks"]
        keys = (
            "registry_read_s",
            "build_s",
            "build_cpu_s",
            "save_s",
            "saved_mb",
            "load_s",
            "load_cpu_s",
            "search_p50_ms",
        )
        estimate: dict = {"chunks": 10_000_000, "extrapolated_from": b["chunks"]}
        estimate |= {key: round(b[key] * scale, 1) for key in keys}
        estimate["build_peak_rss_mb"] = round(
            b["baseline_rss_mb"] + (b["build_peak_rss_mb"] - b["baseline_rss_mb"]) * scale
        )
        estimate["loaded_rss_over_baseline_mb"] = round(b["loaded_rss_over_baseline_mb"] * scale)
        estimate["growth_between_last_two_runs"] = {
            key: round(b[key] / a[key], 1) if a[key] else None
            for key in (*keys, "loaded_rss_over_baseline_mb")
        }
        results.append(estimate)
        print(json.dumps(estimate))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
