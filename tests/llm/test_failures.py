"""Chat-model failures become clear notices that never show a secret."""

from __future__ import annotations

import httpx
import pytest

from rag.llm.failures import ServerHealth, classify, public_url, redact

SERVER = "http://127.0.0.1:8080/v1"


class AuthenticationError(Exception):
    """Shaped like openai's: recognised by name and status, without importing openai."""

    status_code = 401


class InternalServerError(Exception):
    status_code = 500

    def __init__(self, message: str, body: dict) -> None:
        super().__init__(message)
        self.body = body


def _wrapped(inner: BaseException) -> RuntimeError:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise RuntimeError("the client gave up") from exc
    except RuntimeError as outer:
        return outer


def test_urls_lose_credentials_and_query_strings():
    assert (
        public_url("http://user:pw@llm.example.org:8000/v1/?api_key=sk-abc")
        == "http://llm.example.org:8000/v1"
    )
    assert public_url("https://api.openai.com/v1") == "https://api.openai.com/v1"


def test_redaction_hides_named_secrets_and_key_shaped_strings():
    text = "key my-own-secret sent as Bearer abc.def and sk-proj-1234567890 or ?api_key=xyz"
    cleaned = redact(text, ("my-own-secret",))
    for secret in ("my-own-secret", "abc.def", "sk-proj-1234567890", "xyz"):
        assert secret not in cleaned, f"{secret} leaked: {cleaned}"


@pytest.mark.parametrize(
    ("exc", "kind", "says"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), "unreachable", "could not be reached"),
        (ConnectionError("Failed to connect to Ollama"), "unreachable", "could not be reached"),
        (_wrapped(ConnectionRefusedError(111, "refused")), "unreachable", "could not be reached"),
        (httpx.ReadTimeout("read timed out"), "timeout", "did not answer in time"),
        (TimeoutError(), "timeout", "did not answer in time"),
        (
            AuthenticationError("Incorrect API key provided: sk-live-123456789"),
            "refused_key",
            "refused the API key",
        ),
        (
            InternalServerError("Error code: 500", {"message": "overloaded"}),
            "error",
            "(HTTP 500: overloaded)",
        ),
        (ValueError("bad reply"), "error", "(bad reply)"),
    ],
)
def test_failures_are_classified_with_a_notice(exc, kind, says):
    failure = classify(exc, "http://me:pw@127.0.0.1:8080/v1")
    assert failure.kind == kind, f"{exc!r} should count as {kind}"
    assert failure.notice.startswith("The LLM server at http://127.0.0.1:8080/v1 "), failure.notice
    assert says in failure.notice and failure.notice.endswith("showing the extractive answer."), (
        failure.notice
    )
    assert "pw" not in failure.notice and "sk-" not in failure.notice, "no credentials in a notice"


def test_an_error_message_carrying_the_key_is_redacted():
    failure = classify(ValueError("upstream rejected key=local-key-42"), SERVER, secrets=("local-key-42",))
    assert "local-key-42" not in failure.notice, failure.notice


def test_only_outages_are_remembered():
    health = ServerHealth(SERVER, retry_after_s=60)
    health.record(AuthenticationError("no"))
    assert health.recent_outage() is None, "a refused key is not an outage: the next call may be fixed"
    health.record(httpx.ConnectError("refused"))
    assert health.recent_outage() is not None and health.recent_outage().kind == "unreachable"
    health.retry_after_s = 0
    assert health.recent_outage() is None, "the outage is forgotten after retry_after_s"
