"""PubMedQA (PQA-L) as an evaluation set: one document per record, one question asking for it.

Each record's CONTEXTS (the abstract without its conclusion) become one plain-text document
named `<pmid>.txt` with no title, ingested through the normal pipeline; the question's gold
source is that PubMed id, its reference answer the abstract's conclusion (LONG_ANSWER) and its
expected decision the expert yes/no/maybe label.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.errors import QuestionSetError
from rag.evals.questions import Question

DATA_FILE = "pqal_dev.json"  # the file name in ../shared/datasets/pubmedqa-pqal-dev
DECISIONS = ("yes", "no", "maybe")


@dataclass(frozen=True)
class PubMedRecord:
    """One PubMedQA record: its PubMed id, question, context passages and expert answers."""

    pmid: str
    question: str
    contexts: tuple[str, ...]
    long_answer: str
    final_decision: str
    year: int | None = None

    @property
    def text(self) -> str:
        """The document: the context passages as paragraphs."""
        return "\n\n".join(c.strip() for c in self.contexts if c.strip()) + "\n"


def _data_file(path: Path) -> Path:
    path = Path(path)
    return path / DATA_FILE if path.is_dir() else path


def _record(pmid: str, raw: object) -> PubMedRecord:
    if not isinstance(raw, dict):
        raise ValueError("expected an object")
    contexts = raw.get("CONTEXTS")
    if not isinstance(contexts, list) or not any(isinstance(c, str) and c.strip() for c in contexts):
        raise ValueError("CONTEXTS must be a non-empty list of passages")
    question = raw.get("QUESTION")
    if not isinstance(question, str) or not question.strip():
        raise ValueError("QUESTION is missing")
    decision = str(raw.get("final_decision", "")).strip().lower()
    if decision not in DECISIONS:
        raise ValueError(f"final_decision must be one of {'/'.join(DECISIONS)}, got {decision!r}")
    year = raw.get("YEAR")
    return PubMedRecord(
        pmid=str(pmid).strip(),
        question=question.strip(),
        contexts=tuple(c for c in contexts if isinstance(c, str)),
        long_answer=str(raw.get("LONG_ANSWER") or "").strip(),
        final_decision=decision,
        year=int(year) if isinstance(year, str) and year.strip().isdigit() else None,
    )


def load_pubmedqa(path: Path, limit: int | None = None) -> list[PubMedRecord]:
    """Read a PubMedQA JSON file (or the folder holding pqal_dev.json), in file order.

    Args:
        path: the JSON file mapping PubMed ids to records, or its folder.
        limit: keep only the first `limit` records.

    Raises:
        QuestionSetError: the file is missing, not JSON, or a record lacks a required field.
    """
    file = _data_file(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise QuestionSetError(
            f"no PubMedQA file at {file}: pass the dataset folder or its JSON file."
        ) from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise QuestionSetError(f"cannot read PubMedQA file {file}: {exc}") from exc
    if not isinstance(data, dict):
        raise QuestionSetError(f"{file}: expected an object mapping PubMed ids to records")
    records: list[PubMedRecord] = []
    for pmid, raw in data.items():
        if limit is not None and len(records) >= limit:
            break
        try:
            records.append(_record(pmid, raw))
        except ValueError as exc:
            raise QuestionSetError(f"{file}: record {pmid}: {exc}") from exc
    if not records:
        raise QuestionSetError(f"{file} holds no records")
    return records


def write_documents(records: Sequence[PubMedRecord], folder: Path) -> list[Path]:
    """Write each record's contexts to `folder/<pmid>.txt`; returns the paths, in record order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for record in records:
        path = folder / f"{record.pmid}.txt"
        path.write_text(record.text, encoding="utf-8")
        paths.append(path)
    return paths


def to_questions(records: Sequence[PubMedRecord]) -> list[Question]:
    """One question per record; its gold source is the record's own document `<pmid>`."""
    return [
        Question(
            id=f"pubmedqa-{r.pmid}",
            question=r.question,
            gold_sources=(r.pmid,),
            reference_answer=r.long_answer or None,
            expected_decision=r.final_decision,  # type: ignore[arg-type]  # checked against DECISIONS
            tags=("pubmedqa", f"decision-{r.final_decision}"),
        )
        for r in records
    ]
