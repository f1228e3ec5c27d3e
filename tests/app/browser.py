"""Driving the app in Debian's headless Chromium: shared by the browser test and benchmarks/bench_app_start.py."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
# Without the background-networking flags Chromium keeps dialling out, and this machine's
# closed network refuses every attempt; --no-sandbox because tests run as root.
CHROME_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1900",
)


def start_chromium(profile: Path):
    """A Selenium-driven headless Chromium with a fresh profile folder."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROME_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(command: list[str], cwd: Path, env: Mapping[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """Run a server in its own process group, its output in `log`; stop the whole group afterwards."""
    with log.open("wb") as out:
        server = subprocess.Popen(
            command, cwd=cwd, env=dict(env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield server
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=15)


def wait_until_serving(url: str, server: subprocess.Popen, timeout: float) -> bool:
    """Poll Streamlit's health check (or the full `url` when it has a path); False when the server
    exits or `timeout` seconds pass first."""
    probe = url if "/" in url.split("://", 1)[-1] else f"{url}/_stcore/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(probe, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.25)
    return False


# How Chromium reports an element Streamlit replaced between finding it and reading it (as a plain
# WebDriverException, not a StaleElementReferenceException).
_REDRAWN = "does not belong to the document"


def redrawn_means_look_again(condition):
    """`condition` for a WebDriverWait, reading an element redrawn under it as "not yet"."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    def check(driver):
        try:
            return condition(driver)
        except StaleElementReferenceException:
            return False
        except WebDriverException as exc:
            if _REDRAWN in str(exc):
                return False
            raise

    return check


def ask(driver, question: str, timeout: float) -> float:
    """Type `question` into the chat and wait for its answer; returns the seconds it took."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, timeout)
    before = len(driver.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']"))
    box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='stChatInputTextArea']")))
    started = time.perf_counter()
    box.send_keys(question, Keys.ENTER)
    # The exchange is drawn (question, answer and its download button) once the answer is in.
    wait.until(
        lambda d: (
            len(d.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']")) >= before + 2
            and len(d.find_elements(By.CSS_SELECTOR, "[data-testid='stDownloadButton']")) >= (before + 2) // 2
        )
    )
    return time.perf_counter() - started
