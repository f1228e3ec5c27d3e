"""The shared stack of scripts/serve.sh on free loopback ports: shared by the end-to-end test
(tests/app/test_serve_e2e.py) and benchmarks/bench_serve.py."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.app.browser import free_port, serving

REPO = Path(__file__).resolve().parents[2]
SERVE = ["bash", "scripts/serve.sh"]


def free_port_block(n: int, attempts: int = 50) -> int:
    """The first of `n` consecutive free loopback ports (the app processes take consecutive ones)."""
    for _ in range(attempts):
        base = free_port()
        if base + n > 65535:
            continue
        sockets = []
        try:
            for port in range(base, base + n):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError(f"no {n} consecutive free ports found")


@dataclass
class Stack:
    """A running scripts/serve.sh: nginx at `url`, app processes at `app_urls`, Chroma at `chroma_url`."""

    url: str
    app_urls: list[str]
    chroma_url: str
    index_dir: Path
    data_dir: Path
    run_dir: Path
    env: dict[str, str]
    process: subprocess.Popen = field(repr=False)

    def pid(self, part: str) -> int | None:
        """The process id serve.sh recorded for `part` (chroma, app-1, app-2, nginx)."""
        try:
            return int((self.run_dir / "pids" / f"{part}.pid").read_text())
        except (OSError, ValueError):
            return None

    def kill(self, part: str) -> int:
        """kill -9 a part; serve.sh's supervisor restarts it. Returns the killed pid."""
        pid = self.pid(part)
        assert pid is not None, f"serve.sh recorded no pid for {part}"
        os.kill(pid, signal.SIGKILL)
        return pid

    def status(self) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*SERVE, "status"], cwd=REPO, env=self.env, capture_output=True, text=True, timeout=60
        )

    def wait_healthy(self, timeout: float, *, other_than: Mapping[str, int] | None = None) -> bool:
        """Wait until every part answers its health check (and, for `other_than`, runs as a new pid)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            fresh = all(self.pid(part) not in (None, old) for part, old in (other_than or {}).items())
            if fresh and self.status().returncode == 0:
                return True
            time.sleep(1)
        return False

    def log(self, part: str) -> str:
        path = self.run_dir / "logs" / f"{part}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def upstream_of(self, route: str) -> str:
        """Which app process nginx sends a browser with this route cookie to."""
        request = urllib.request.Request(
            f"{self.url}/_stcore/health", headers={"Cookie": f"changeguide_route={route}"}
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.headers.get("X-Changeguide-Upstream", "")


@contextmanager
def serve_stack(
    index_dir: Path,
    data_dir: Path,
    run_dir: Path,
    *,
    processes: int = 2,
    start_timeout: float = 300,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[Stack]:
    """scripts/serve.sh on free loopback ports, stopped (with `serve.sh stop` as a safety net) afterwards.

    Raises:
        RuntimeError: the stack did not come up within `start_timeout` (with the end of its output).
    """
    port, chroma_port, app_port = free_port(), free_port(), free_port_block(processes)
    env = os.environ | {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "CHANGEGUIDE_INDEX__DIR": str(index_dir),
        "CHANGEGUIDE_APP__DATA_DIR": str(data_dir),
        "CHANGEGUIDE_APP__PORT": str(port),
        "CHANGEGUIDE_SERVE__PROCESSES": str(processes),
        "CHANGEGUIDE_SERVE__APP_PORT": str(app_port),
        "CHANGEGUIDE_SERVE__CHROMA_PORT": str(chroma_port),
        "CHANGEGUIDE_SERVE__RUN_DIR": str(run_dir),
        **(extra_env or {}),
    }
    env.pop("CHANGEGUIDE_INDEX__CHROMA_URL", None)  # the stack's own Chroma server
    run_dir.mkdir(parents=True, exist_ok=True)
    out = run_dir / "serve.out"
    try:
        with serving(SERVE, REPO, env, out) as process:
            stack = Stack(
                url=f"http://127.0.0.1:{port}",
                app_urls=[f"http://127.0.0.1:{app_port + i}" for i in range(processes)],
                chroma_url=f"http://127.0.0.1:{chroma_port}",
                index_dir=index_dir,
                data_dir=data_dir,
                run_dir=run_dir,
                env=env,
                process=process,
            )
            deadline = time.monotonic() + start_timeout
            while "Change Guide: open" not in out.read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the stack did not start; serve.sh said:\n{out.read_text()[-4000:]}")
                time.sleep(0.5)
            yield stack
    finally:
        subprocess.run([*SERVE, "stop"], cwd=REPO, env=env, capture_output=True, timeout=120)
