"""Turn a chat-model failure into a short notice that says what happened, without any secret.

The optional client libraries (openai, ollama, httpx) are not imported here: exceptions are
recognised by class name and status code, so this works whichever backend raised them.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

Kind = Literal["unreachable", "timeout", "refused_key", "error"]

# After an outage (server down or slow) the server is left alone this long; see ServerHealth.
RETRY_AFTER_S = 30.0

FALLBACK = "showing the extractive answer."
_MAX_DETAIL = 160  # characters of the server's own message kept in a notice
# Things that look like credentials: "sk-..." keys, bearer tokens, key=... query parameters.
# Exception class names (openai, httpx, ollama, builtins) by what they mean for the user.
_TIMEOUT = frozenset({"TimeoutError", "APITimeoutError", "TimeoutException", "ReadTimeout", "ConnectTimeout"})
_REFUSED = frozenset({"AuthenticationError", "PermissionDeniedError"})
_UNREACHABLE = frozenset(
    {"APIConnectionError", "ConnectError", "ConnectionError", "NetworkError", "RemoteProtocolError"}
)
_SECRET = re.compile(r"(sk-[A-Za-z0-9_\-]{6,}|Bearer\s+\S+|(?:api[_-]?key|token)=\S+)", re.IGNORECASE)


@dataclass(frozen=True)
class Failure:
    """What went wrong with the LLM server, and the notice shown with the extractive answer."""

    kind: Kind
    notice: str

    @property
    def transient(self) -> bool:
        """Server down or slow: worth not retrying for a short while."""
        return self.kind in ("unreachable", "timeout")


def public_url(url: str) -> str:
    """`url` without user name, password or query string (which may carry a key)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` with the given secrets and anything shaped like a key replaced by '***'."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _SECRET.sub("***", text)


def _names(exc: BaseException) -> set[str]:
    """Class names of `exc`, its bases and the exceptions it was raised from."""
    names: set[str] = set()
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        names.update(cls.__name__ for cls in type(current).__mro__)
        current = current.__cause__ or current.__context__
    return names


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    if status is None:
        status = getattr(getattr(exc, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def classify(exc: BaseException, server: str, *, secrets: tuple[str, ...] = ()) -> Failure:
    """The kind of failure `exc` is and its notice.

    Args:
        exc: what the chat model raised.
        server: the server's URL, shown in the notice (credentials stripped).
        secrets: values that must never appear in the notice (the API key).
    """
    where = f"The LLM server at {public_url(server)}"
    names = _names(exc)
    status = _status(exc)
    # Timeouts first: openai's APITimeoutError is also an APIConnectionError.
    if names & _TIMEOUT:
        return Failure("timeout", f"{where} did not answer in time; {FALLBACK}")
    if status in (401, 403) or names & _REFUSED:
        return Failure(
            "refused_key",
            f"{where} refused the API key (check CHANGEGUIDE_LLM__API_KEY or OPENAI_API_KEY); {FALLBACK}",
        )
    if names & _UNREACHABLE:
        return Failure("unreachable", f"{where} could not be reached; {FALLBACK}")
    body = getattr(exc, "body", None)  # openai's APIStatusError keeps the server's JSON error here
    message = body.get("message") if isinstance(body, dict) else None
    detail = redact(" ".join(str(message or exc).split()), secrets)[:_MAX_DETAIL]
    code = f"HTTP {status}: " if status else ""
    return Failure("error", f"{where} returned an error ({code}{detail or type(exc).__name__}); {FALLBACK}")


class ServerHealth:
    """Remembers a recent outage of one server, shared by its answerer and its condenser.

    After the server was unreachable or timed out, callers skip it for `retry_after_s`, so one
    dead server does not cost every question (and its follow-up condensing) a full timeout.
    Thread-safe.
    """

    def __init__(
        self, server: str, *, secrets: tuple[str, ...] = (), retry_after_s: float = RETRY_AFTER_S
    ) -> None:
        self.server = server
        self.retry_after_s = retry_after_s
        self._secrets = secrets
        self._outage: tuple[float, Failure] | None = None
        self._lock = threading.Lock()

    def record(self, exc: BaseException) -> Failure:
        """Classify a chat-model failure; remember it if the server is down or slow."""
        failure = classify(exc, self.server, secrets=self._secrets)
        if failure.transient:
            with self._lock:
                self._outage = (time.monotonic(), failure)
        return failure

    def recent_outage(self) -> Failure | None:
        """The last outage if it happened less than `retry_after_s` ago."""
        with self._lock:
            if self._outage is None:
                return None
            when, failure = self._outage
            if time.monotonic() - when >= self.retry_after_s:
                self._outage = None
                return None
            return failure
