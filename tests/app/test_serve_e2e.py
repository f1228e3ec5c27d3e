"""The shared stack end to end: scripts/serve.sh starts Chroma's server, two app processes and
nginx on free loopback ports; people ask in headless Chromium while a librarian uploads.

1. Eight browser sessions ask while a ninth uploads 20 real documents: no errors, no session sees
   another's answer, every citation is verbatim document text, and the new documents are
   answerable in both app processes afterwards. Answer times during and after the upload go to
   test-artifacts/serve-e2e.json.
2. kill -9 of each part mid-batch (the ingesting process, an app process, the Chroma server): the
   rest keep answering or say clearly what is wrong; after the restart the index verifies clean
   and the batch, run again, completes.

Needs Debian's chromium, chromium-driver and nginx (scripts/ensure_browser.sh, ensure_nginx.sh).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.browser import CHROMEDRIVER, CHROMIUM, redrawn_means_look_again
from tests.app.conftest import CORPUS, REPO
from tests.app.stack import Stack, serve_stack

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.stack]

ARTIFACTS = REPO / "test-artifacts"
SHARED_DOCS = REPO.parent / "shared" / "docs"
ANSWER_TIMEOUT = 240  # seconds for one answer on 2 shared cores with nine browsers open
START_ANSWER_TIMEOUT = 600  # the first answer of a process also loads the model and opens the index
UPLOAD_TIMEOUT = 900  # seconds for the 20 documents to be embedded and committed
READERS = 8
ROUNDS_AFTER = 2  # answers each reader gets after the upload has finished

# Questions about the starter briefs in the test index, each with a word its answer must hold.
QUESTIONS = (
    ("How do you read a run chart?", "run chart"),
    ("What is a PDSA cycle?", "PDSA"),
    ("Why does psychological safety matter for teams?", "psychological safety"),
    ("What are the stages of the ADKAR model?", "ADKAR"),
    ("What are escalation huddles?", "huddle"),
)
# The upload: 14 starter briefs the test index lacks and 6 real documents from ../shared/docs.
UPLOAD_BRIEFS = (
    "just-culture.md",
    "kotter-eight-steps.md",
    "lewin-unfreeze-change-refreeze.md",
    "bridges-transitions.md",
    "safety-i-safety-ii.md",
    "diffusion-of-innovations.md",
    "why-improvements-decay.md",
    "nhs-sustainability-model.md",
    "compassionate-leadership.md",
    "adaptive-technical-challenges.md",
    "clinical-microsystems.md",
    "human-factors.md",
    "funnel-plots.md",
    "co-production.md",
)
UPLOAD_SHARED = (
    "nhse-sw-style-guide_rag_rating_SPC.md",
    "nhsr-blog_spc-charting-in-r.md",
    "nhsr-blog_introduction-to-funnel-plots.md",
    "nhsr-blog_a-run-chart-is-not-a-run-chart-is-not-a-run-chart.md",
    "NHSRplotthedots_number-of-points-required.html",
    "OHDSI_KeppraAngioedema_study-protocol_v0.5.docx",
)
# Asked of each app process after the upload; the answer must cite the new document.
NEW_DOCUMENT_QUESTIONS = (
    ("What is a just culture?", "Just culture"),
    ("What are Kotter's eight steps for leading change?", "Kotter"),
)
# The batch each kill test ingests with the command line while the stack serves (briefs in no
# earlier batch, so each is new), and a question the batch's documents answer.
KILL_BATCHES = {
    "ingest": (
        (
            "theatre-productivity.md",
            "psirf.md",
            "low-value-care.md",
            "lean-in-healthcare.md",
            "productive-series.md",
        ),
        ("What is low-value care?", "low-value"),
    ),
    "app-1": (
        (
            "six-sigma-in-healthcare.md",
            "digital-transformation-epr.md",
            "experience-based-co-design.md",
            "nhs-productivity-measurement.md",
            "spc-making-data-count.md",
        ),
        ("What is experience-based co-design?", "co-design"),
    ),
    "chroma": (
        (
            "improvement-capability-programmes.md",
            "qi-collaboratives.md",
            "health-inequalities-improvement.md",
            "evaluating-improvement.md",
            "theory-of-change-driver-diagrams.md",
        ),
        ("What is a driver diagram?", "driver diagram"),
    ),
}


def squash(text: str) -> str:
    return " ".join(text.split())


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium_available() -> None:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(
            "needs /usr/bin/chromium and /usr/bin/chromedriver (scripts/ensure_browser.sh installs them)"
        )
    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        pytest.skip("needs Debian's nginx (scripts/ensure_nginx.sh installs it)")


@pytest.fixture(scope="module")
def stack(app_index, tmp_path_factory, chromium_available) -> Iterator[Stack]:
    """scripts/serve.sh over a copy of the test index (its chroma/ is what the Chroma server serves)."""
    root = tmp_path_factory.mktemp("serve")
    index = root / "index"
    shutil.copytree(app_index, index)
    try:
        # Restarts wait 10 s, so the kill tests can ask while a part is down.
        restart = {"SERVE_RESTART_DELAY": "10"}
        with serve_stack(index, root / "data", root / "run", processes=2, extra_env=restart) as running:
            yield running
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def upload_files(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("upload")
    files = [CORPUS / name for name in UPLOAD_BRIEFS] + [SHARED_DOCS / name for name in UPLOAD_SHARED]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        pytest.skip(f"the upload's real documents are missing: {missing}")
    for f in files:
        shutil.copy(f, folder / f.name)
    return sorted(folder.iterdir())


@pytest.fixture(scope="module")
def drivers(tmp_path_factory, chromium_available) -> Iterator[list]:
    """Nine headless Chromium sessions, each with its own profile (its own route cookie)."""
    from tests.app.browser import start_chromium

    started = []
    try:
        for i in range(READERS + 1):
            started.append(start_chromium(tmp_path_factory.mktemp(f"chromium-{i}")))
        yield started
    finally:
        for driver in started:
            driver.quit()


# -- driving a session ----------------------------------------------------------------------------


def _messages(driver) -> list:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']")


def _content(message) -> str:
    """A chat message's text without its avatar's icon name."""
    from selenium.webdriver.common.by import By

    found = message.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessageContent']")
    return found[0].text if found else message.text


def _exception(driver) -> str | None:
    """A traceback the page shows (Streamlit's exception box, or its text)."""
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, "[data-testid='stException']")
    if found:
        return found[0].text[:500] or "an exception box"
    body = driver.find_element(By.TAG_NAME, "body").text
    return body[body.index("Traceback") :][:500] if "Traceback" in body else None


def _error_alert(driver) -> str | None:
    """The message of an error alert the app shows (st.error), if any."""
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, "[data-testid='stAlertContentError']")
    return (found[-1].text or "an error alert") if found else None


def _problem(driver) -> str | None:
    """An error the page shows instead of an answer."""
    return _exception(driver) or _error_alert(driver)


def ask_in(
    driver, question: str, timeout: float = ANSWER_TIMEOUT, *, allow_error: bool = False
) -> tuple[float, str, str]:
    """Ask in this session's chat; returns (seconds, the question bubble's text, the answer's text).
    With `allow_error`, an error alert instead of an answer is returned as the answer's text.

    Raises:
        AssertionError: the page shows an error (a traceback, whatever `allow_error`) or no answer
            comes within `timeout`.
    """
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,))
    before = len(_messages(driver))
    box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='stChatInputTextArea']")))
    started = time.perf_counter()
    box.send_keys(question, Keys.ENTER)

    def answered(d):
        if _problem(d):
            return True
        return (
            len(_messages(d)) >= before + 2
            and len(d.find_elements(By.CSS_SELECTOR, "[data-testid='stDownloadButton']")) >= (before + 2) // 2
        )

    try:
        wait.until(redrawn_means_look_again(answered))
    except TimeoutException:
        raise AssertionError(f"no answer to {question!r} within {timeout} s") from None
    seconds = time.perf_counter() - started
    exception = _exception(driver)
    assert exception is None, f"the page shows a traceback for {question!r}: {exception}"
    alert = _error_alert(driver)
    if alert is not None:
        assert allow_error, f"the page shows an error for {question!r}: {alert}"
        return seconds, question, alert
    messages = _messages(driver)
    return seconds, _content(messages[-2]), _content(messages[-1])


def cited_excerpts(driver) -> list[str]:
    """The highlighted text of every citation card on the page (in collapsed expanders too)."""
    from selenium.webdriver.common.by import By

    return [m.get_attribute("textContent") or "" for m in driver.find_elements(By.TAG_NAME, "mark")]


def document_texts(index_dir: Path) -> dict[str, str]:
    """Every document's stored text by title, read from the registry (read-only)."""
    with sqlite3.connect(f"file:{index_dir / 'registry.sqlite3'}?mode=ro", uri=True, timeout=30) as conn:
        return dict(conn.execute("SELECT title, text FROM documents").fetchall())


def sources_in(index_dir: Path) -> set[str]:
    with sqlite3.connect(f"file:{index_dir / 'registry.sqlite3'}?mode=ro", uri=True, timeout=30) as conn:
        return {Path(row[0]).name for row in conn.execute("SELECT source FROM documents")}


def assert_verbatim(excerpts: list[str], texts: dict[str, str], where: str) -> None:
    """Every excerpt is document text: stored, or as shown (Markdown syntax removed, rag.answer.display)."""
    from rag.answer.display import clean

    corpus = [squash(t) for t in texts.values()] + [squash(clean(t)) for t in texts.values()]
    for excerpt in excerpts:
        piece = squash(excerpt)
        assert piece and any(piece in text for text in corpus), (
            f"{where}: a highlighted excerpt is not verbatim document text: {piece[:200]!r}"
        )


def upload(driver, url: str, files: list[Path]) -> None:
    """The librarian's upload on the Library page (everyone is a librarian without sign-in)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{url}/library")
    picker = "[data-testid='stFileUploaderDropzoneInput']"
    WebDriverWait(driver, ANSWER_TIMEOUT).until(lambda d: d.find_elements(By.CSS_SELECTOR, picker))
    driver.find_element(By.CSS_SELECTOR, picker).send_keys("\n".join(str(f) for f in files))
    # Each file shows as a chip, with a spinner until its upload is through.
    WebDriverWait(driver, 300).until(
        lambda d: (
            len(d.find_elements(By.CSS_SELECTOR, "[data-testid='stFileChip']")) >= len(files)
            and not d.find_elements(By.CSS_SELECTOR, "[data-testid='stFileChipIconSpinner']")
        )
    )

    def add_button(d):
        found = [
            b
            for b in d.find_elements(By.TAG_NAME, "button")
            if b.text.strip().endswith("Add to library") and b.is_enabled()
        ]
        return found[0] if found else False

    WebDriverWait(driver, 120).until(redrawn_means_look_again(add_button)).click()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# -- 1. eight readers and an upload ---------------------------------------------------------------


def test_eight_readers_ask_while_a_librarian_uploads_twenty_documents(stack, drivers, upload_files):
    readers, librarian = drivers[:READERS], drivers[READERS]
    for driver in drivers:
        driver.get(stack.url)
    upload_started = upload_finished = None
    upload_done = threading.Event()
    timings: list[tuple[float, float]] = []  # (when asked, seconds)
    failures: list[str] = []
    asked: dict[int, list[str]] = {i: [] for i in range(READERS)}
    lock = threading.Lock()

    def reader(i: int) -> None:
        driver, n, after = readers[i], i, 0
        try:
            while after < ROUNDS_AFTER:
                question, word = QUESTIONS[n % len(QUESTIONS)]
                n += 1
                done_before = upload_done.is_set()
                when = time.monotonic()
                seconds, bubble, answer = ask_in(driver, question)
                asked[i].append(question)
                assert squash(bubble) == squash(question), (
                    f"session {i} asked {question!r} but its chat shows {bubble!r}"
                )
                assert word.casefold() in answer.casefold(), (
                    f"session {i}: the answer to {question!r} is about something else: {answer[:300]!r}"
                )
                with lock:
                    timings.append((when, seconds))
                after += done_before
        except Exception as exc:  # reported below, with the other sessions' outcomes
            failures.append(f"reader {i}: {exc}")

    threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(READERS)]
    for thread in threads:
        thread.start()
    time.sleep(5)  # the readers are asking before the upload starts
    upload_started = time.monotonic()
    upload(librarian, stack.url, upload_files)
    expected = {f.name for f in upload_files}
    deadline = time.monotonic() + UPLOAD_TIMEOUT
    while not expected <= sources_in(stack.index_dir):
        problem = _problem(librarian)
        assert problem is None, f"the upload page shows an error: {problem}"
        assert time.monotonic() < deadline, (
            f"the upload did not finish in {UPLOAD_TIMEOUT} s; missing: {expected - sources_in(stack.index_dir)}"
        )
        time.sleep(1)
    upload_finished = time.monotonic()
    upload_done.set()
    for thread in threads:
        thread.join(timeout=ROUNDS_AFTER * ANSWER_TIMEOUT * 2 + 60)
    assert not failures, "\n".join(failures)

    # Each session's chat holds exactly its own questions, in order: none saw another's.
    from selenium.webdriver.common.by import By

    texts = document_texts(stack.index_dir)
    for i, driver in enumerate(readers):
        # The person's messages are those without the answer's download button.
        bubbles = [
            squash(_content(m))
            for m in _messages(driver)
            if not m.find_elements(By.CSS_SELECTOR, "[data-testid='stDownloadButton']")
        ]
        assert bubbles == [squash(q) for q in asked[i]], (
            f"session {i}'s chat holds others' questions: {bubbles}"
        )
        assert_verbatim(cited_excerpts(driver), texts, f"session {i}")

    # The new documents answer in each app process (straight to its port, past nginx).
    for app_url in stack.app_urls:
        librarian.get(app_url)
        for question, title in NEW_DOCUMENT_QUESTIONS:
            _, _, answer = ask_in(librarian, question)
            assert title.casefold() in answer.casefold(), (
                f"{app_url} does not answer from the new document {title!r}: {answer[:300]!r}"
            )
        assert_verbatim(cited_excerpts(librarian), texts, app_url)

    for part in ("app-1", "app-2"):
        assert "Traceback" not in stack.log(part), f"{part} logged a traceback:\n{stack.log(part)[-3000:]}"
    during = [s for when, s in timings if upload_started <= when < upload_finished]
    after = [s for when, s in timings if when >= upload_finished]
    assert during and after, f"answers during ({len(during)}) and after ({len(after)}) the upload"
    figures = {
        "readers": READERS,
        "documents_uploaded": len(upload_files),
        "upload_seconds": round(upload_finished - upload_started, 1),
        "during_upload": {
            "answers": len(during),
            "p50_s": round(statistics.median(during), 1),
            "p95_s": round(percentile(during, 0.95), 1),
        },
        "after_upload": {
            "answers": len(after),
            "p50_s": round(statistics.median(after), 1),
            "p95_s": round(percentile(after, 0.95), 1),
        },
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "serve-e2e.json").write_text(json.dumps(figures, indent=1) + "\n")
    print(json.dumps(figures))


# -- 2. kill -9 of each part mid-batch --------------------------------------------------------------


def verify_clean(stack: Stack) -> None:
    """`changeguide index verify` against the stack's library: registry, Chroma and BM25 agree."""
    env = stack.env | {"CHANGEGUIDE_INDEX__CHROMA_URL": stack.chroma_url}
    done = subprocess.run(
        [sys.executable, "-m", "rag", "index", "verify", "--index", str(stack.index_dir)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0 and done.stdout.startswith("ok:"), (
        f"the index disagrees with itself:\n{done.stdout}{done.stderr[-2000:]}"
    )


def start_ingest(stack: Stack, folder: Path, log: Path) -> subprocess.Popen:
    """`changeguide ingest` of `folder` into the stack's library (the ingesting process)."""
    env = stack.env | {"CHANGEGUIDE_INDEX__CHROMA_URL": stack.chroma_url}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "rag", "ingest", str(folder), "--index", str(stack.index_dir)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_mid_batch(stack: Stack, process: subprocess.Popen, names: set[str], timeout: float = 600) -> None:
    """Wait until the batch has committed at least one of `names` and not all: the middle of it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        present = names & sources_in(stack.index_dir)
        if present and present != names:
            return
        assert process.poll() is None or present != names, "the batch finished before it could be interrupted"
        time.sleep(0.2)
    raise AssertionError(f"the batch committed nothing in {timeout} s")


@pytest.mark.parametrize("part", list(KILL_BATCHES))
def test_kill_9_of_one_part_mid_batch(stack, drivers, tmp_path, part):
    driver = drivers[0]
    batch, (question, word) = KILL_BATCHES[part]
    kill_batch = tmp_path / "batch"
    kill_batch.mkdir()
    for name in batch:
        shutil.copy(CORPUS / name, kill_batch / name)
    names = set(batch)
    assert not names & sources_in(stack.index_dir), "the batch is new to the library"
    # Both app processes answer before anything is killed (run alone, this test loads their engines).
    for url in stack.app_urls:
        driver.get(url)
        ask_in(driver, QUESTIONS[0][0], timeout=START_ANSWER_TIMEOUT)
    log = tmp_path / "ingest.log"
    old: dict[str, int] = {}
    ingest = start_ingest(stack, kill_batch, log)
    try:
        wait_mid_batch(stack, ingest, names)
        if part == "ingest":
            ingest.kill()
        else:
            old = {part: stack.kill(part)}
        ingest_exit = ingest.wait(timeout=600)
    finally:
        if ingest.poll() is None:
            ingest.kill()

    if part == "ingest":
        # The app processes never noticed: both keep answering, through nginx and directly.
        for url in [stack.url, *stack.app_urls]:
            driver.get(url)
            _, _, answer = ask_in(driver, QUESTIONS[0][0])
            assert QUESTIONS[0][1] in answer.casefold()
    elif part == "app-1":
        # The other process serves everyone meanwhile: nginx sends new sessions to it.
        assert ingest_exit == 0, (
            f"the ingest is not disturbed by an app process dying:\n{log.read_text()[-2000:]}"
        )
        driver.get(stack.url)
        _, _, answer = ask_in(driver, QUESTIONS[1][0])
        assert QUESTIONS[1][1].casefold() in answer.casefold()
    else:
        # Without Chroma a question says so (or, once it is back, is answered), never a traceback;
        # the ingest stops and says why.
        driver.get(stack.app_urls[0])
        _, _, reply = ask_in(driver, QUESTIONS[2][0], allow_error=True)
        assert "chroma" in reply.casefold() or QUESTIONS[2][1] in reply.casefold(), (
            f"a question while Chroma is down gets a clear message: {reply[:300]!r}"
        )
        output = log.read_text(errors="replace")
        assert ingest_exit != 0 and "Traceback" not in output, f"the ingest fails clearly:\n{output[-2000:]}"
        assert "chroma" in output.casefold(), f"the ingest's message names Chroma:\n{output[-2000:]}"
    assert part == "ingest" or stack.wait_healthy(300, other_than=old), (
        f"serve.sh did not restart {part}:\n{stack.status().stdout}"
    )

    verify_clean(stack)
    rerun = start_ingest(stack, kill_batch, log)
    assert rerun.wait(timeout=600) == 0, f"the rerun of the batch fails:\n{log.read_text()[-2000:]}"
    assert names <= sources_in(stack.index_dir), "the rerun completes the batch"
    verify_clean(stack)
    for url in stack.app_urls:
        driver.get(url)
        _, _, answer = ask_in(driver, question)
        assert word in answer.casefold(), f"{url} answers from the batch after the restart: {answer[:300]!r}"
