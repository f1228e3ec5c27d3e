"""Fixtures for the app tests: a small real index of starter briefs plus one hostile document."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "corpus"
APP = REPO / "app.py"
APP_TIMEOUT = 120  # the first AppTest run loads the embedding model; later runs reuse the cached engine

# Briefs the chat tests ask about; a few keep the index (and the test time) small.
BRIEFS = ("run-charts.md", "model-for-improvement-pdsa.md", "psychological-safety.md", "adkar.md")

# A document whose text carries HTML, a script and Markdown links: none of it may render. Its key
# sources carry a DOI (a link) and a `javascript:` URL (never a link).
HOSTILE_NAME = "escalation-huddles.md"
HOSTILE_DOC = """---
title: "Escalation huddles <img src=x onerror=alert(2)>"
topics: [patient-flow]
key_sources:
  - citation: "Goldenhar LM et al. 2013. Huddling for high reliability. <b>BMJ Qual Saf</b> 22(11)."
    doi: "10.1136/bmjqs-2012-001731"
  - citation: "A key source whose link is a script."
    url: "javascript:alert(3)"
---

# Escalation huddles

Escalation huddles are short daily safety meetings <script>alert(1)</script> where a ward team reviews \
the patients at risk of deterioration, see [the huddle guide](http://evil.example/phish) for details.
Each escalation huddle takes about ten minutes and names one person to follow up every concern raised.
Teams that run escalation huddles report earlier recognition of deteriorating patients.
"""
HOSTILE_QUESTION = "What are escalation huddles?"


@pytest.fixture(scope="session")
def library_docs(tmp_path_factory) -> Path:
    """A folder with the briefs and the hostile document."""
    folder = tmp_path_factory.mktemp("app-docs")
    for name in BRIEFS:
        shutil.copy(CORPUS / name, folder / name)
    (folder / HOSTILE_NAME).write_text(HOSTILE_DOC, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def app_index(tmp_path_factory, library_docs, embedder) -> Path:
    """A real index of `library_docs`, built once per session (the engine is closed afterwards)."""
    from rag.config import Settings
    from rag.engine import ChangeGuide

    index_dir = tmp_path_factory.mktemp("app-index") / "index"
    engine = ChangeGuide(Settings().with_index_dir(index_dir), embedder=embedder)
    try:
        report = engine.ingest([library_docs])
    finally:
        engine.close()
    assert report.ok and len(report.added) == len(BRIEFS) + 1, f"test index build failed: {report}"
    return index_dir


@pytest.fixture()
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


@pytest.fixture()
def make_app(monkeypatch, app_index, data_dir):
    """An AppTest of app.py with the settings pointing at `index_dir` (default the shared index)."""
    from streamlit.testing.v1 import AppTest

    def make(index_dir: Path | None = None, **env: str) -> AppTest:
        monkeypatch.setenv("CHANGEGUIDE_INDEX__DIR", str(index_dir or app_index))
        monkeypatch.setenv("CHANGEGUIDE_APP__DATA_DIR", str(data_dir))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT)

    return make


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium with a fresh profile (skipped where Debian's chromium is missing)."""
    import tempfile

    from tests.app.browser import CHROMEDRIVER, CHROMIUM, start_chromium

    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(
            "needs /usr/bin/chromium and /usr/bin/chromedriver (scripts/ensure_browser.sh installs them)"
        )
    profile = Path(tempfile.mkdtemp(prefix="changeguide-chromium-"))
    driver = start_chromium(profile)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
