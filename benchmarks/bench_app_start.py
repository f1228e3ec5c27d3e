"""Seconds from `make run` to the first answer in a real browser, and warm answer times.

    .venv/bin/python benchmarks/bench_app_start.py [--index DIR] [--fresh] [--port N]

With --fresh the index folder is deleted first, so `make run` builds the starter library's
index (the first run on a machine where .venv exists); without it the index is reused (every
later run). Needs /usr/bin/chromium and /usr/bin/chromedriver (scripts/ensure_browser.sh).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.by import By

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the browser-driving helpers are shared with the browser test
from tests.app.browser import ask, start_chromium, wait_until_serving  # noqa: E402

ANSWER_TIMEOUT = 300  # seconds; the first answer of a fresh start also loads the model
QUESTIONS = (
    "How do you read a run chart?",
    "What is a PDSA cycle?",
    "How do I get staff on board with a change they are wary of?",
    "What should a board do to lead on quality?",
    "Why do improvements fail to spread beyond the pilot ward?",
)


def engine_seconds(driver: webdriver.Chrome) -> float:
    """The engine's own time for the last answer, from its "Answered in X s" caption."""
    captions = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "[data-testid='stCaptionContainer']")]
    answered = [c for c in captions if c.startswith("Answered in ")]
    return float(answered[-1].split()[2]) if answered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--index", type=Path, default=Path(tempfile.gettempdir()) / "changeguide-bench-index")
    parser.add_argument("--fresh", action="store_true", help="delete the index first (first-run timing)")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    if args.fresh:
        shutil.rmtree(args.index, ignore_errors=True)
    data = Path(tempfile.mkdtemp(prefix="changeguide-bench-data-"))
    env = os.environ | {
        "CHANGEGUIDE_INDEX__DIR": str(args.index),
        "CHANGEGUIDE_APP__DATA_DIR": str(data),
        "CHANGEGUIDE_APP__PORT": str(args.port),
    }
    url = f"http://127.0.0.1:{args.port}"
    profile = Path(tempfile.mkdtemp(prefix="changeguide-bench-chromium-"))

    t0 = time.perf_counter()
    server = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    driver = None
    try:
        if not wait_until_serving(url, server, timeout=1800):
            raise SystemExit("make run exited, or the app was not up after 30 minutes")
        serving = time.perf_counter() - t0
        driver = start_chromium(profile)
        driver.get(url)
        first = ask(driver, QUESTIONS[0], ANSWER_TIMEOUT)
        to_first_answer = time.perf_counter() - t0
        warm, engine = [], []
        for question in QUESTIONS[1:]:
            warm.append(ask(driver, question, ANSWER_TIMEOUT))
            engine.append(engine_seconds(driver))
    finally:
        if driver is not None:
            driver.quit()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(data, ignore_errors=True)
    print(
        json.dumps(
            {
                "fresh_index": args.fresh,
                "seconds_to_serving": round(serving, 1),
                "seconds_to_first_answer": round(to_first_answer, 1),
                "first_answer_in_browser_s": round(first, 2),
                "warm_answers_in_browser_s": [round(w, 2) for w in warm],
                "warm_median_s": round(sorted(warm)[len(warm) // 2], 2),
                "engine_s_of_warm_answers": engine,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
