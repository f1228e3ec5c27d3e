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
import tempfile
import time
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = (
    "How do you read a run chart?",
    "What is a PDSA cycle?",
    "How do I get staff on board with a change they are wary of?",
    "What should a board do to lead on quality?",
    "Why do improvements fail to spread beyond the pilot ward?",
)
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1900",
]


def wait_healthy(url: str, server: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("make run exited before the app was up")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise SystemExit(f"the app was not up after {timeout:.0f} s")


def ask(driver: webdriver.Chrome, question: str) -> float:
    wait = WebDriverWait(driver, 300)
    before = len(driver.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']"))
    box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='stChatInputTextArea']")))
    started = time.perf_counter()
    box.send_keys(question, Keys.ENTER)
    wait.until(
        lambda d: (
            len(d.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']")) >= before + 2
            and len(d.find_elements(By.CSS_SELECTOR, "[data-testid='stDownloadButton']")) >= (before + 2) // 2
        )
    )
    return time.perf_counter() - started


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
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix="changeguide-bench-chromium-")
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)

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
        wait_healthy(url, server, timeout=1800)
        serving = time.perf_counter() - t0
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        driver.get(url)
        first = ask(driver, QUESTIONS[0])
        to_first_answer = time.perf_counter() - t0
        warm, engine = [], []
        for question in QUESTIONS[1:]:
            warm.append(ask(driver, question))
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
