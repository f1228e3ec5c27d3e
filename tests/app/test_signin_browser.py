"""Sign-in end to end: a real OpenID Connect provider on loopback (oidc-provider-mock), the app as
`make run` serves it with CHANGEGUIDE_APP__OIDC__* set, and a person in headless Chromium who
signs in as a reader, then as a librarian, and signs out, over plain http on 127.0.0.1.

The provider shows a form where the test picks a predefined person; it signs their identity
token with the claims given here (a `roles` claim, as Microsoft Entra ID sends app roles).
Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator

import pytest

from tests.app.browser import ask, free_port, redrawn_means_look_again, serving, wait_until_serving
from tests.app.conftest import REPO

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = REPO / "test-artifacts"
START_TIMEOUT = 90  # seconds for a server to answer its first request
STEP_TIMEOUT = 60  # seconds for one page or redirect
ANSWER_TIMEOUT = 120  # seconds for an answer (the first loads the model)
LIBRARIAN_ROLE = "ChangeGuide.Librarian"
READER = {
    "sub": "rita@trust.example",
    "email": "rita@trust.example",
    "name": "Rita Reader",
    "roles": ["Staff"],
}
LIBRARIAN = {
    "sub": "lena@trust.example",
    "email": "lena@trust.example",
    "name": "Lena Librarian",
    "roles": [LIBRARIAN_ROLE],
}
SIGN_IN = "Sign in with your organisation account"
NOTE_NAME = "discharge-huddles.md"
NOTE = b"""# Discharge huddles

A discharge huddle is a ten minute stand-up at nine each morning where the ward team agrees which
patients can go home today and what each discharge still needs.
"""


@pytest.fixture(scope="module")
def provider(tmp_path_factory) -> Iterator[str]:
    """oidc-provider-mock on a free loopback port, knowing the reader and the librarian."""
    port = free_port()
    log = tmp_path_factory.mktemp("oidc") / "provider.log"
    command = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port)]
    for person in (READER, LIBRARIAN):
        command += ["--user-claims", json.dumps(person)]
    url = f"http://127.0.0.1:{port}"
    with serving(command, REPO, os.environ, log) as server:
        if not wait_until_serving(f"{url}/.well-known/openid-configuration", server, START_TIMEOUT):
            pytest.fail(
                f"the OIDC provider did not start; its log:\n{log.read_text(errors='replace')[-3000:]}"
            )
        yield url


@pytest.fixture(scope="module")
def app_url(app_index, provider, tmp_path_factory) -> Iterator[str]:
    """scripts/run_app.sh with sign-in on, over a copy of the test index (the librarian adds to it)."""
    index = tmp_path_factory.mktemp("signin-index") / "index"
    shutil.copytree(app_index, index)
    port = free_port()
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    env = os.environ | {
        "CHANGEGUIDE_INDEX__DIR": str(index),
        "CHANGEGUIDE_APP__DATA_DIR": str(tmp_path_factory.mktemp("signin-data")),
        "CHANGEGUIDE_APP__PORT": str(port),
        "CHANGEGUIDE_APP__OIDC__CLIENT_ID": "changeguide-test",
        "CHANGEGUIDE_APP__OIDC__CLIENT_SECRET": "changeguide-test-secret",
        "CHANGEGUIDE_APP__OIDC__SERVER_METADATA_URL": f"{provider}/.well-known/openid-configuration",
        "CHANGEGUIDE_APP__OIDC__LIBRARIAN_ROLES": json.dumps([LIBRARIAN_ROLE]),
    }
    url = f"http://127.0.0.1:{port}"  # the derived redirect URI's host: the sign-in cookie's
    with serving(["bash", "scripts/run_app.sh"], REPO, env, log) as server:
        if not wait_until_serving(url, server, START_TIMEOUT):
            pytest.fail(f"the app did not start; its log:\n{log.read_text(errors='replace')[-3000:]}")
        yield url
    assert "changeguide-test-secret" not in log.read_text(errors="replace"), (
        "the client secret reached the log"
    )


def _wait(driver, condition, what: str, timeout: float = STEP_TIMEOUT):
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        # Streamlit redraws elements while a page runs: a stale one means "look again".
        wait = WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,))
        return wait.until(redrawn_means_look_again(condition))
    except TimeoutException:
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "signin-timeout.png"))
        body = driver.find_element("tag name", "body").text[:1500]
        pytest.fail(f"timed out waiting for {what} at {driver.current_url}; the page says:\n{body}")


def _button(driver, label: str, what: str | None = None):
    from selenium.webdriver.common.by import By

    def find(d):
        # A button's text ends with its label (a Material icon's name may come first).
        found = [
            b
            for b in d.find_elements(By.TAG_NAME, "button")
            if b.text.strip().splitlines()[-1:] == [label] and b.is_enabled()
        ]
        return found[0] if found else False

    return _wait(driver, find, what or f"the button {label!r}")


def _text(driver) -> str:
    return driver.find_element("tag name", "body").text


def _sign_in(driver, app_url: str, person: dict) -> None:
    """From the sign-in page through the provider's form and back, signed in as `person`."""
    from selenium.webdriver.common.by import By

    _button(driver, SIGN_IN).click()
    _wait(driver, lambda d: "/oauth2/authorize" in d.current_url, "the provider's sign-in form")
    driver.find_element(By.CSS_SELECTOR, f"button[name='sub'][value='{person['sub']}']").click()
    _wait(
        driver,
        lambda d: d.current_url.startswith(app_url) and f"Signed in as {person['name']}" in _text(d),
        f"the app, signed in as {person['name']}",
    )


def _sign_out(driver, app_url: str) -> None:
    """Sign out of the app, and of the provider (its end-session page), back to the sign-in page."""
    _button(driver, "Sign out").click()
    _button(driver, "End session", "the provider's end-session page").click()
    _button(driver, SIGN_IN, "the app's sign-in page after signing out")
    assert driver.current_url.startswith(app_url), driver.current_url
    names = {c["name"] for c in driver.get_cookies()}
    assert "_streamlit_user" not in names, f"the identity cookie is gone: {names}"


def _open(driver, url: str, heading: str) -> None:
    driver.get(url)
    _wait(driver, lambda d: heading in _text(d), f"the page {heading!r}")


def test_readers_ask_librarians_add_documents_and_both_sign_out(app_url, browser, tmp_path):
    from selenium.webdriver.common.by import By

    ARTIFACTS.mkdir(exist_ok=True)
    browser.get(app_url)
    _button(browser, SIGN_IN, "the sign-in page")
    browser.save_screenshot(str(ARTIFACTS / "signin-gate.png"))
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid='stChatInputTextArea']"), (
        "nothing of the app shows before sign-in"
    )

    # A refused sign-in comes back to the sign-in page, not to the app and not to an error.
    _button(browser, SIGN_IN).click()
    _wait(browser, lambda d: "/oauth2/authorize" in d.current_url, "the provider's sign-in form")
    _button(browser, "Deny").click()
    _button(browser, SIGN_IN, "the sign-in page after a refused sign-in")
    assert "_streamlit_user" not in {c["name"] for c in browser.get_cookies()}

    # A reader: asks and gets a cited answer; sees no upload and no evaluation controls.
    _sign_in(browser, app_url, READER)
    assert "Signed in as Rita Reader (reader)" in _text(browser)
    ask(browser, "How do you read a run chart?", ANSWER_TIMEOUT)
    answer = browser.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']")[1].text
    assert "[1]" in answer and "run chart" in answer.lower(), (
        f"a cited answer for the reader: {answer[:300]!r}"
    )
    browser.save_screenshot(str(ARTIFACTS / "signin-reader-answer.png"))

    _open(browser, f"{app_url}/library", "Librarians add and remove documents")
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid='stFileUploader']"), (
        "no upload for a reader"
    )
    assert "Remove documents" not in _text(browser), "no removal for a reader"
    _open(browser, f"{app_url}/evaluations", "Evaluations are for librarians")
    page = _text(browser)
    assert "Run evaluation" not in page and "Export feedback" not in page, "no evaluation controls"
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid='stFileUploader']"), (
        "no question-set upload"
    )
    browser.save_screenshot(str(ARTIFACTS / "signin-reader-evaluations.png"))
    _sign_out(browser, app_url)

    # A librarian: the upload is there and works; the evaluation controls are there.
    _sign_in(browser, app_url, LIBRARIAN)
    assert "Signed in as Lena Librarian (librarian)" in _text(browser)
    _open(browser, f"{app_url}/library", "Add documents")
    note = tmp_path / NOTE_NAME
    note.write_bytes(NOTE)
    picker = "[data-testid='stFileUploaderDropzoneInput']"
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, picker), "the librarian's file uploader")
    browser.find_element(By.CSS_SELECTOR, picker).send_keys(str(note))
    _button(browser, "Add to library").click()
    _wait(browser, lambda d: "1 added" in _text(d), "the upload's summary", ANSWER_TIMEOUT)
    assert "Discharge huddles" in _text(browser), "the new document is listed"
    browser.save_screenshot(str(ARTIFACTS / "signin-librarian-upload.png"))
    _open(browser, f"{app_url}/evaluations", "Run a question set")
    _button(browser, "Run evaluation", "the librarian's evaluation controls")
    _sign_out(browser, app_url)
