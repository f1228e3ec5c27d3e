"""Questions per second the shared stack (scripts/serve.sh) sustains, with one and with two app processes.

    .venv/bin/python benchmarks/bench_serve.py [--index DIR] [--sessions 4] [--seconds 120] [--json FILE]

Streamlit's browser protocol (protobuf messages over its websocket, with the widget state of a
running page) has no client but its own JavaScript frontend, so "a loopback client" here is two
things, both extractive answers over the starter library behind a real Chroma server:

1. engine: ChangeGuide.ask in 1 or 2 worker processes (each with its own engine, as each app
   process has), one closed-loop caller per process: the ceiling an app process can reach.
2. stack: N headless Chromium sessions through nginx, each asking the next question as soon as
   its last answer is drawn (bounded load: at most N questions in flight), first with one app
   process behind nginx, then with two. A session reloads the page every 5 answers, as people
   ask a few questions per visit (the page re-draws every earlier exchange on each run).

Questions are the in-scope questions of evals/questions/dev.jsonl, rotated. Besides answers per
second and p50/p95 answer times, the CPU seconds each part spends per answer are read from
/proc: on this 2-core machine the Chromium sessions compete with the stack, and other work may
too, so `capacity_qps = 2 cores / server CPU seconds per answer` is the load-independent figure.
Needs Debian's chromium, chromium-driver and nginx.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False")

from tests.app.browser import ask, start_chromium  # noqa: E402
from tests.app.stack import serve_stack  # noqa: E402

ANSWER_TIMEOUT = 300
RELOAD_EVERY = 5
TICKS = os.sysconf("SC_CLK_TCK")


def questions() -> list[str]:
    rows = [
        json.loads(line) for line in (REPO / "evals/questions/dev.jsonl").read_text().splitlines() if line
    ]
    return [r["question"] for r in rows if r.get("answerable")]


def cpu_seconds(pid: int) -> float:
    """CPU time of `pid` and all its descendants (Chromium runs a tree of processes)."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        child = int(entry.name)
        children.setdefault(int(fields[1]), []).append(child)
        times[child] = (int(fields[11]) + int(fields[12])) / TICKS
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += times.get(current, 0.0)
        todo.extend(children.get(current, []))
    return total


def rss_mb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return None


def summary(durations: list[float], seconds: float) -> dict:
    ordered = sorted(durations)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else float("nan")
    return {
        "answers": len(durations),
        "qps": round(len(durations) / seconds, 3),
        "p50_s": round(statistics.median(ordered), 2) if ordered else None,
        "p95_s": round(p95, 2),
    }


# -- 1. the engine in worker processes ----------------------------------------------------------------


def _engine_worker(index_dir: str, chroma_url: str, seconds: float, offset: int, out) -> None:
    from rag.config import Settings
    from rag.engine import ChangeGuide

    settings = Settings().with_index_dir(index_dir)
    settings = settings.model_copy(
        update={"index": settings.index.model_copy(update={"chroma_url": chroma_url})}
    )
    engine = ChangeGuide(settings)
    engine.warm()
    asked = questions()
    engine.ask(asked[0])  # loads what the first question loads
    out.send("ready")
    out.recv()  # start together
    durations, n = [], offset
    cpu, deadline = time.process_time(), time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        engine.ask(asked[n % len(asked)])
        durations.append(time.perf_counter() - started)
        n += 1
    out.send({"durations": durations, "cpu_s": time.process_time() - cpu})
    engine.close()


def engine_run(index_dir: Path, chroma_url: str, chroma_pid: int, processes: int, seconds: float) -> dict:
    context = multiprocessing.get_context("spawn")
    pipes, workers = [], []
    # As scripts/serve.sh gives each app process: the cores shared out, at least one thread each.
    threads = str(max(1, (os.cpu_count() or 1) // processes))
    os.environ.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    for i in range(processes):
        ours, theirs = context.Pipe()
        worker = context.Process(
            target=_engine_worker, args=(str(index_dir), chroma_url, seconds, i * 17, theirs), daemon=True
        )
        worker.start()
        pipes.append(ours)
        workers.append(worker)
    for pipe in pipes:
        assert pipe.recv() == "ready"
    chroma_cpu = cpu_seconds(chroma_pid)
    started = time.monotonic()
    for pipe in pipes:
        pipe.send("go")
    results = [pipe.recv() for pipe in pipes]
    elapsed = time.monotonic() - started
    for worker in workers:
        worker.join(timeout=60)
    durations = [d for r in results for d in r["durations"]]
    server_cpu = sum(r["cpu_s"] for r in results) + cpu_seconds(chroma_pid) - chroma_cpu
    row = {"mode": "engine", "processes": processes, **summary(durations, elapsed)}
    row["server_cpu_s_per_answer"] = round(server_cpu / max(len(durations), 1), 3)
    row["capacity_qps"] = round(2 / row["server_cpu_s_per_answer"], 2) if durations else None
    return row


# -- 2. the stack through nginx with headless Chromium ---------------------------------------------------


def stack_run(stack, sessions: int, seconds: float, profiles: Path) -> dict:
    asked = questions()
    drivers = [start_chromium(Path(tempfile.mkdtemp(dir=profiles))) for _ in range(sessions)]
    durations: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    warm = threading.Barrier(sessions + 1)
    go = threading.Event()
    deadline = [0.0]

    def session(i: int) -> None:
        driver, n = drivers[i], i * 7
        try:
            driver.get(stack.url)
            ask(driver, asked[n % len(asked)], ANSWER_TIMEOUT)  # warm-up: the model is loaded
            warm.wait()
            go.wait()
            count = 0
            while time.monotonic() < deadline[0]:
                n += 1
                if count and count % RELOAD_EVERY == 0:
                    driver.get(stack.url)
                took = ask(driver, asked[n % len(asked)], ANSWER_TIMEOUT)
                count += 1
                with lock:
                    durations.append(took)
        except Exception as exc:
            errors.append(f"session {i}: {exc!r}"[:300])
            if not warm.broken:
                warm.abort()

    threads = [threading.Thread(target=session, args=(i,), daemon=True) for i in range(sessions)]
    try:
        for thread in threads:
            thread.start()
        warm.wait(timeout=ANSWER_TIMEOUT * 2)
        parts = [p for p in ("chroma", *(f"app-{i + 1}" for i in range(len(stack.app_urls))), "nginx")]
        pids = {p: stack.pid(p) for p in parts}
        before = {p: cpu_seconds(pid) for p, pid in pids.items() if pid}
        browsers_before = sum(cpu_seconds(d.service.process.pid) for d in drivers)
        started = time.monotonic()
        deadline[0] = started + seconds
        go.set()
        for thread in threads:
            thread.join(timeout=seconds + ANSWER_TIMEOUT)
        elapsed = time.monotonic() - started  # answers that finish after the deadline count, with their time
        spent = {p: round(cpu_seconds(pid) - before[p], 1) for p, pid in pids.items() if pid}
        resident = {p: rss_mb(pid) for p, pid in pids.items() if pid}
        browsers = sum(cpu_seconds(d.service.process.pid) for d in drivers) - browsers_before
    finally:
        for driver in drivers:
            driver.quit()
    row = {
        "mode": "stack",
        "processes": len(stack.app_urls),
        "sessions": sessions,
        **summary(durations, elapsed),
        "cpu_s_by_part": spent,
        "rss_mb_by_part": resident,
        "chromium_cpu_s": round(browsers, 1),
        "errors": errors,
    }
    server = sum(spent.values())
    row["server_cpu_s_per_answer"] = round(server / max(len(durations), 1), 3)
    row["capacity_qps"] = round(2 / row["server_cpu_s_per_answer"], 2) if durations else None
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--index", type=Path, help="index of the starter library (built by serve.sh if missing)"
    )
    parser.add_argument("--sessions", type=int, default=4, help="Chromium sessions asking at once")
    parser.add_argument("--seconds", type=float, default=120, help="measured seconds per run")
    parser.add_argument("--skip-engine", action="store_true", help="only the runs through the stack")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        root = Path(tmp)
        index = args.index or root / "index"
        profiles = root / "profiles"
        profiles.mkdir()
        for processes in (1, 2):
            run_dir = root / f"run-{processes}"
            with serve_stack(index, root / "data", run_dir, processes=processes) as stack:
                if processes == 2 and not args.skip_engine:
                    for workers in (1, 2):
                        row = engine_run(index, stack.chroma_url, stack.pid("chroma"), workers, args.seconds)
                        results.append(row)
                        print(json.dumps(row), flush=True)
                row = stack_run(stack, args.sessions, args.seconds, profiles)
                results.append(row)
                print(json.dumps(row), flush=True)
            shutil.rmtree(profiles, ignore_errors=True)
            profiles.mkdir()
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
