"""End to end in a real headless Chromium: `scripts/run_app.sh` serves the app, a person asks.

Needs Debian's chromium and chromium-driver (scripts/ensure_browser.sh installs them when the
test command runs as root). Saves screenshots and the answer times seen in the browser to
test-artifacts/.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from tests.app.browser import ask, free_port, serving, wait_until_serving
from tests.app.conftest import HOSTILE_QUESTION, REPO

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = REPO / "test-artifacts"
START_TIMEOUT = 90  # seconds for streamlit to serve its health check
ANSWER_TIMEOUT = 120  # seconds for an answer (the first loads the model)


@pytest.fixture(scope="module")
def app_url(app_index, tmp_path_factory) -> Iterator[str]:
    """The app served by scripts/run_app.sh (what `make run` runs) on a free loopback port."""
    port = free_port()
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    env = os.environ | {
        "CHANGEGUIDE_INDEX__DIR": str(app_index),
        "CHANGEGUIDE_APP__DATA_DIR": str(tmp_path_factory.mktemp("app-data")),
        "CHANGEGUIDE_APP__PORT": str(port),
    }
    url = f"http://127.0.0.1:{port}"
    with serving(["bash", "scripts/run_app.sh"], REPO, env, log) as server:
        if not wait_until_serving(url, server, START_TIMEOUT):
            pytest.fail(f"the app did not start; its log:\n{log.read_text(errors='replace')[-3000:]}")
        yield url


def _ask(driver, question: str) -> float:
    return ask(driver, question, ANSWER_TIMEOUT)


def test_a_manager_asks_and_sees_a_cited_answer(app_url, browser):
    from selenium.webdriver.common.by import By

    ARTIFACTS.mkdir(exist_ok=True)
    browser.get(app_url)
    first = _ask(browser, "How do you read a run chart?")
    messages = browser.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']")
    answer = messages[1].text
    assert "[1]" in answer and "run chart" in answer.lower(), f"expected a cited answer, got {answer[:300]!r}"
    highlights = messages[1].find_elements(By.TAG_NAME, "mark")
    assert highlights and highlights[0].text.strip(), "at least one citation card highlights its sentence"
    assert "Show in the document" in answer, "each card offers the passage in its document"
    browser.save_screenshot(str(ARTIFACTS / "browser-answer.png"))

    warm = [_ask(browser, "What is a PDSA cycle?"), _ask(browser, "Why does psychological safety matter?")]
    hostile = _ask(browser, HOSTILE_QUESTION)
    assert not browser.find_elements(By.CSS_SELECTOR, "a[href*='evil.example'], img[src='x']"), (
        "a document's Markdown link or HTML became live on the page"
    )
    assert not browser.find_elements(By.CSS_SELECTOR, "a[href^='javascript']"), (
        "a key source's script URL is live"
    )
    page = browser.find_element(By.TAG_NAME, "body").text
    assert "<script>alert(1)</script>" in page, "the document's markup shows as plain text"
    browser.save_screenshot(str(ARTIFACTS / "browser-hostile.png"))
    (ARTIFACTS / "browser-timings.json").write_text(
        json.dumps({"first_answer_s": first, "warm_answers_s": warm + [hostile]}, indent=1) + "\n"
    )
