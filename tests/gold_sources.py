"""What a question's gold sources may name, and the text a gold phrase must occur in.

Shared by the question-set tests (tests/evals/test_manager_sets.py) and the training-data tests
(tests/training/test_training_data.py): both check gold phrases against the text our loaders
extract from the starter briefs and ../shared/docs, and one cache spares extracting (and OCR'ing)
the shared documents twice in a test session.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from rag.config import Settings
from rag.errors import IngestError
from rag.evals.metrics import normalise
from rag.ingest.loaders import loader_for

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
SHARED_DOCS = REPO.parent / "shared" / "docs"


def library_files() -> dict[str, Path]:
    """Every file a gold source may name: the briefs and the shared documents, by casefolded name and stem."""
    files = [p for p in CORPUS.glob("*.md") if p.name != "README.md"]
    files += [p for p in SHARED_DOCS.iterdir() if p.is_file()] if SHARED_DOCS.is_dir() else []
    names: dict[str, Path] = {}
    for path in files:
        names[path.name.casefold()] = path
        names[path.stem.casefold()] = path
    return names


@cache
def extracted(path: Path) -> str | None:
    """The normalised text our loader extracts from `path` (None when no loader reads it).

    A loader that rejects the file counts as none (a scanned PDF without Tesseract, say).
    """
    loader = loader_for(path)
    if loader is None:
        return None
    try:
        return normalise(loader(path, Settings()).text)
    except IngestError:
        return None
