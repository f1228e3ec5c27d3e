"""Settings for scripts/run_app.sh (with `--serve`, for scripts/serve.sh too), printed as shell
assignments: `eval "$(python -m rag.app.launch)"`.

Reading them here keeps one source of truth (the `CHANGEGUIDE_` settings) for the address, the
port, the upload limit and where the index lives, and checks cheaply whether the index is built.
With sign-in configured it also writes Streamlit's `[auth]` secrets (mode 600) and prints where.
Secrets themselves are never printed.
"""

from __future__ import annotations

import math
import shlex
import sqlite3
import sys
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import ValidationError

from rag.app.auth import redirect_uri, write_streamlit_secrets
from rag.config import Settings
from rag.errors import ConfigError
from rag.index.store import CHROMA, REGISTRY


def index_has_documents(index_dir: Path) -> bool:
    """Whether the index folder holds at least one document (without opening Chroma or the model)."""
    registry = index_dir / REGISTRY
    if not registry.is_file():
        return False
    try:
        with sqlite3.connect(f"file:{registry}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT EXISTS (SELECT 1 FROM documents)").fetchone()[0] == 1
    except sqlite3.Error:
        return False  # unreadable: let the ingest report what is wrong


def shell_assignments(settings: Settings) -> dict[str, str]:
    index_dir = settings.index.dir.resolve()
    return {
        "INDEX_DIR": str(index_dir),
        "INDEX_READY": "1" if index_has_documents(index_dir) else "0",
        "ADDRESS": settings.app.address,
        "PORT": str(settings.app.port),
        # Streamlit takes whole megabytes; round up so the engine's own limit is the one people meet.
        "MAX_UPLOAD_MB": str(max(1, math.ceil(settings.ingest.max_file_mb))),
    }


def serve_assignments(settings: Settings) -> dict[str, str]:
    """What scripts/serve.sh needs besides `shell_assignments`: where each part of the stack goes."""
    serve, data_dir = settings.serve, settings.app.data_dir.resolve()
    chroma_dir = serve.chroma_dir or settings.index.dir / CHROMA
    return {
        "DATA_DIR": str(data_dir),
        "RUN_DIR": str((serve.run_dir or data_dir / "run").resolve()),
        "PROCESSES": str(serve.processes),
        "APP_PORT": str(serve.app_port),
        "CHROMA_PORT": str(serve.chroma_port),
        "CHROMA_DIR": str(chroma_dir.resolve()),
        # Set by hand: an external Chroma server, so serve.sh starts none of its own.
        "CHROMA_URL": settings.index.chroma_url or "",
    }


def open_url(settings: Settings, signed_in: bool = False) -> str:
    """The address to open. With sign-in, exactly the redirect URI's scheme, host and port: the
    sign-in cookie belongs to that host, so http://localhost:8501 does not sign in when the redirect
    URI says http://127.0.0.1:8501."""
    if signed_in:
        parts = urlsplit(redirect_uri(settings))
        return f"{parts.scheme}://{parts.netloc}"
    host = settings.app.address
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{settings.app.port}"


def main() -> int:
    try:
        settings = Settings()
        secrets_file = write_streamlit_secrets(settings)
    except (ValidationError, ConfigError) as exc:
        print(f"Change Guide cannot start: {exc}", file=sys.stderr)
        return 2
    values = (
        shell_assignments(settings)
        | (serve_assignments(settings) if "--serve" in sys.argv[1:] else {})
        | {
            "SECRETS_FILE": str(secrets_file or ""),
            "OPEN_URL": open_url(settings, signed_in=secrets_file is not None),
        }
    )
    for name, value in values.items():
        print(f"{name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
