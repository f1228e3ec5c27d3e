"""A real Chroma server (`chroma run`, shipped with the chromadb package) on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

CHROMA = Path(sys.executable).with_name("chroma")  # the venv's console script
READY_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ChromaServer:
    """A running `chroma run` process; `url` is what CHANGEGUIDE_INDEX__CHROMA_URL takes."""

    path: Path
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=2) as reply:
                return reply.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)


def start(path: Path, port: int | None = None) -> ChromaServer:
    """Start a server persisting to `path` and wait until its heartbeat answers.

    Raises:
        RuntimeError: it exited or stayed silent for READY_SECONDS (the message quotes its log).
    """
    path.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = path.with_name(path.name + f"-chroma-{port}.log")
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(CHROMA), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
    server = ChromaServer(path, port, process, log)
    deadline = time.monotonic() + READY_SECONDS
    while not server.alive():
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"chroma run did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)
    return server
