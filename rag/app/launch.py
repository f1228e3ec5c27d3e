"""Settings for scripts/run_app.sh, printed as shell assignments: `eval "$(python -m rag.app.launch)"`.

Reading them here keeps one source of truth (the `CHANGEGUIDE_` settings) for the address, the
port, the upload limit and where the index lives, and checks cheaply whether the index is built.
"""

from __future__ import annotations

import math
import shlex
import sqlite3
from pathlib import Path

from rag.config import Settings
from rag.index.store import REGISTRY


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


def main() -> int:
    for name, value in shell_assignments(Settings()).items():
        print(f"{name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
