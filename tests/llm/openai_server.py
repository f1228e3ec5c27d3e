"""A scripted OpenAI-compatible HTTP server on loopback, for driving the real `langchain-openai` client.

It speaks POST /v1/chat/completions: SSE chunks (`data: {...}` ... `data: [DONE]`) when the
request asks for `stream`, one JSON completion otherwise; it can also sleep (a slow server) or
answer with an HTTP error (a refused key).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Scripted:
    """What the server does for one request."""

    text: str | Callable[[dict], str] = ""  # the reply, or a function of the request body
    status: int = 200
    delay_s: float = 0.0  # sleep before answering (a slow server)
    error: dict | None = None  # JSON error body for a non-200 status

    def reply(self, body: dict) -> str:
        return self.text(body) if callable(self.text) else self.text


@dataclass
class OpenAIServer:
    """A loopback server speaking /v1/chat/completions (SSE streaming and plain JSON)."""

    url: str
    script: list[Scripted]
    requests: list[dict] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def next(self) -> Scripted:
        # The last entry repeats, so a client retry meets the same behaviour.
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]


def _completion(text: str) -> dict:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "scripted",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunk(delta: dict, finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "scripted",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


def _handler(server: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            server.requests.append(
                {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
            )
            step = server.next()
            if step.delay_s:
                server.release.wait(step.delay_s)
            if self.path != "/v1/chat/completions":
                self._json(404, {"error": {"message": f"no route {self.path}"}})
            elif step.status != 200:
                self._json(step.status, step.error or {"error": {"message": "scripted failure"}})
            elif body.get("stream"):
                self._stream(step.reply(body))
            else:
                self._json(200, _completion(step.reply(body)))

        def _json(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, text: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            self.wfile.write(_chunk({"role": "assistant", "content": ""}))
            for piece in re.findall(r"\S+\s*", text):
                self.wfile.write(_chunk({"content": piece}))
                self.wfile.flush()
            self.wfile.write(_chunk({}, finish="stop"))
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

    return Handler


def start_server(*script: Scripted) -> tuple[ThreadingHTTPServer, OpenAIServer]:
    """Serve `script` (the last step repeats) on 127.0.0.1 at a free port, in a daemon thread."""
    state = OpenAIServer(url="", script=list(script) or [Scripted()])
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, state


def stop_server(httpd: ThreadingHTTPServer, state: OpenAIServer) -> None:
    state.release.set()  # wake any handler still sleeping, so shutdown is immediate
    httpd.shutdown()
    httpd.server_close()
