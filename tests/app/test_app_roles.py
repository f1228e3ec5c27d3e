"""Every page for a reader (read-only mode, and the reader role under sign-in) and for a librarian,
and the sign-in gate, driven through Streamlit's AppTest against the small real index."""

from __future__ import annotations

import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.test_app import IN_SCOPE, ask, texts

LIBRARY, EVALUATIONS = "rag/app/pages/library.py", "rag/app/pages/evaluations.py"
LIBRARIAN_ROLE = "ChangeGuide.Librarian"
# What Streamlit's [auth] secrets hold once sign-in is set up (AppTest never talks to the provider).
AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "not-a-real-secret-but-long-enough",
    "client_id": "cg-client",
    "client_secret": "cg-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
SECRET_QUESTION = "Which of our wards had the serious incident last week?"


def _signed_in(at: AppTest, name: str, **claims) -> AppTest:
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "name": name, "iat": int(time.time()) - 60, **claims}
    return at


@pytest.fixture()
def oidc_app(make_app):
    """An AppTest with sign-in on and the librarian role named."""

    def make(**claims) -> AppTest:
        at = make_app(CHANGEGUIDE_APP__OIDC__LIBRARIAN_ROLES=json.dumps([LIBRARIAN_ROLE]))
        return _signed_in(at, **claims) if claims else at

    return make


@pytest.fixture()
def past_run(data_dir):
    """A run on disk whose report holds a question someone asked (as an exported feedback set's would)."""
    run = data_dir / "evals" / "20261201-090000-feedback-hybrid"
    run.mkdir(parents=True)
    report = {
        "n_questions": 1,
        "config": {"retriever": "hybrid"},
        "retrieval": {"hit@1": 1.0},
        "questions": [{"id": "f1", "question": SECRET_QUESTION}],
    }
    (run / "report.json").write_text(json.dumps(report), encoding="utf-8")
    return run


def _assert_reader_pages(at: AppTest, why: str) -> None:
    """A reader asks (with feedback), sees the library, and changes and evaluates nothing."""
    ask(at, IN_SCOPE)
    assert "\\[1\\]" in at.chat_message[1].markdown[0].value, "a reader gets a cited answer"
    assert [b for b in at.button if b.label == "Send feedback"], "and may say whether it helped"

    at.switch_page(LIBRARY).run()
    assert not at.exception, f"the library page raised: {at.exception}"
    assert not at.get("file_uploader"), f"{why}: no upload"
    assert not [e for e in at.expander if e.label == "Remove documents"], f"{why}: no removal"
    assert len(at.dataframe[0].value) == 5, "the documents are listed"
    assert any("Librarians add and remove documents" in i.value for i in at.info), f"the note: {texts(at)}"

    at.switch_page(EVALUATIONS).run()
    assert not at.exception, f"the evaluations page raised: {at.exception}"
    assert not at.get("file_uploader") and not at.main.selectbox and not at.main.button, (
        f"{why}: no question-set upload, export, run or report controls: {[b.label for b in at.main.button]}"
    )
    assert not at.dataframe and not any(SECRET_QUESTION in t for t in texts(at)), "no report is shown"
    assert any("Evaluations are for librarians" in i.value for i in at.info), f"the note: {texts(at)}"


def test_read_only_mode_makes_every_page_a_readers(make_app, past_run):
    at = make_app(CHANGEGUIDE_APP__READ_ONLY="true").run()
    assert not at.exception, f"the app raised on start: {at.exception}"
    _assert_reader_pages(at, "read-only")


def test_the_reader_role_under_sign_in(oidc_app, past_run):
    at = oidc_app(name="Rita Reader", email="rita@trust.nhs.uk", roles=["Staff"]).run()
    assert not at.exception, f"the app raised on start: {at.exception}"
    assert any("Rita Reader" in c.value and "(reader)" in c.value for c in at.sidebar.caption), (
        f"the sidebar says who is signed in: {[c.value for c in at.sidebar.caption]}"
    )
    assert [b for b in at.sidebar.button if b.label == "Sign out"], "and offers to sign out"
    _assert_reader_pages(at, "reader role")


def test_the_librarian_role_under_sign_in(oidc_app, past_run):
    at = oidc_app(name="Lena Librarian", roles=[LIBRARIAN_ROLE]).run()
    assert any("(librarian)" in c.value for c in at.sidebar.caption), "signed in as a librarian"
    at.switch_page(LIBRARY).run()
    assert at.get("file_uploader") and [e for e in at.expander if e.label == "Remove documents"], (
        "a librarian can add and remove documents"
    )
    at.switch_page(EVALUATIONS).run()
    assert not at.exception, f"the evaluations page raised: {at.exception}"
    labels = {b.label for b in at.button}
    assert {"Run evaluation", "Export feedback as a question set"} <= labels, labels
    assert at.get("file_uploader"), "a librarian can upload a question set"
    assert any(SECRET_QUESTION in str(row) for row in at.dataframe[-1].value["question"]), "and reads reports"


def test_the_librarian_e_mail_list(make_app):
    at = make_app(CHANGEGUIDE_APP__OIDC__LIBRARIAN_EMAILS='["lena@trust.nhs.uk"]')
    at = _signed_in(at, "Lena", email="Lena@Trust.NHS.uk").run()
    at.switch_page(LIBRARY).run()
    assert at.get("file_uploader"), "a listed address is a librarian's"


def test_nobody_signed_in_sees_only_the_sign_in_button(oidc_app):
    at = oidc_app()
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception, f"the gate raised: {at.exception}"
    assert [b.label for b in at.button] == ["Sign in with your organisation account"], [
        b.label for b in at.button
    ]
    assert not at.chat_input and not at.text_input, "nothing but the sign-in (no password either)"


def test_named_providers_each_get_a_button(make_app):
    at = make_app()
    at.secrets["auth"] = {
        "redirect_uri": AUTH["redirect_uri"],
        "cookie_secret": AUTH["cookie_secret"],
        "microsoft": {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")},
        "okta": {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")},
    }
    at.user = {"is_logged_in": False}
    at.run()
    assert [b.label for b in at.button] == ["Sign in with microsoft", "Sign in with okta"]


def test_an_old_sign_in_must_be_renewed(oidc_app):
    at = oidc_app(name="Lena", roles=[LIBRARIAN_ROLE])
    at.user["iat"] = int(time.time()) - 13 * 3600  # the default limit is 12 hours
    at.run()
    assert not at.chat_input, "an expired sign-in does not open the app"
    assert any("sign-in has expired" in i.value for i in at.info), texts(at)
    assert [b.label for b in at.button] == ["Sign in with your organisation account"]


def test_signing_out_returns_to_the_sign_in(oidc_app):
    at = oidc_app(name="Rita Reader", roles=["Staff"]).run()
    [b for b in at.sidebar.button if b.label == "Sign out"][0].click().run()
    assert not at.exception, f"signing out raised: {at.exception}"
    at.run()
    assert not at.chat_input and [b.label for b in at.button] == ["Sign in with your organisation account"]


def test_sign_in_configured_without_streamlit_secrets_refuses_to_open(make_app):
    at = make_app(
        CHANGEGUIDE_APP__OIDC__CLIENT_ID="cg-client",
        CHANGEGUIDE_APP__OIDC__CLIENT_SECRET="cg-secret",
        CHANGEGUIDE_APP__OIDC__SERVER_METADATA_URL=AUTH["server_metadata_url"],
    ).run()
    assert not at.chat_input, "an app meant to need sign-in must not open to everyone"
    assert any("make run" in e.value for e in at.error), texts(at)
    assert not any("cg-secret" in t for t in texts(at)), "the secret is never shown"
