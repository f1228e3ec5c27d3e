"""One loader per format; `loader_for(path)` picks one by file extension."""

from __future__ import annotations

import importlib
from pathlib import Path

from rag.ingest.loaders.base import Loader

# Extension -> module in this package that defines `load(path, settings) -> SourceDocument`.
_MODULES = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".pptx": "pptx",
    ".xlsx": "xlsx",
    ".csv": "csvfile",
    ".tsv": "csvfile",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
}
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(_MODULES)


def loader_for(path: Path) -> Loader | None:
    """The loader for `path`'s extension (case-insensitive), or None if unsupported."""
    module = _MODULES.get(path.suffix.lower())
    if module is None:
        return None
    # Imported lazily so reading Markdown never pays for pypdf or python-docx.
    return importlib.import_module(f"{__name__}.{module}").load


__all__ = ["SUPPORTED_EXTENSIONS", "Loader", "loader_for"]
