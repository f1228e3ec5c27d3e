"""Feedback on answers: a small SQLite store, exportable as an evaluation question set.

Real questions are the best evaluation cases. A helpful answer's cited documents become its
gold sources; a helpful abstention becomes an out-of-scope question. Unhelpful answers are kept
for people to review but not exported: what the right sources were is not known.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import Any

from rag.types import Answer, Turn

FEEDBACK_DB = "feedback.sqlite3"  # under settings.app.data_dir
COMMENT_CHARS = 2000  # a comment is a note, not an essay; longer ones are cut

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL,
    standalone_question TEXT NOT NULL,
    history TEXT NOT NULL,
    answer TEXT NOT NULL,
    abstained INTEGER NOT NULL,
    helpful INTEGER NOT NULL,
    comment TEXT NOT NULL,
    cited_sources TEXT NOT NULL,
    backend TEXT NOT NULL,
    index_fingerprint TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class FeedbackItem:
    """One person's verdict on one answer."""

    id: int
    created_at: str
    question: str
    standalone_question: str
    history: tuple[Turn, ...]
    answer: str
    abstained: bool
    helpful: bool
    comment: str
    cited_sources: tuple[str, ...]  # file names of the cited documents, in citation order
    backend: str
    index_fingerprint: str


class FeedbackStore:
    """Append-only feedback in `data_dir/feedback.sqlite3`; safe to share between sessions."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as conn:
            conn.executescript(SCHEMA)

    @classmethod
    def in_folder(cls, data_dir: Path) -> FeedbackStore:
        return cls(Path(data_dir) / FEEDBACK_DB)

    def _connect(self) -> sqlite3.Connection:
        # A connection per call: sessions run in different threads, and writes are rare.
        conn = sqlite3.connect(self.path, timeout=10)
        conn.row_factory = sqlite3.Row
        return conn

    def add(self, answer: Answer, helpful: bool, comment: str = "", history: Sequence[Turn] = ()) -> int:
        """Store a verdict on `answer`; returns its id."""
        cited = _distinct(
            PurePath(c.source).name or c.doc_id for c in sorted(answer.citations, key=lambda c: c.n)
        )
        row = (
            datetime.now(UTC).isoformat(timespec="seconds"),
            answer.question,
            answer.standalone_question,
            json.dumps([{"question": t.question, "answer": t.answer} for t in history], ensure_ascii=False),
            answer.text,
            int(answer.abstained),
            int(helpful),
            comment.strip()[:COMMENT_CHARS],
            json.dumps(cited, ensure_ascii=False),
            answer.backend,
            answer.index_fingerprint,
        )
        with self._lock, self._connect() as conn:
            cursor = conn.execute(
                "INSERT INTO feedback (created_at, question, standalone_question, history, answer, abstained,"
                " helpful, comment, cited_sources, backend, index_fingerprint)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            return int(cursor.lastrowid or 0)

    def items(self) -> list[FeedbackItem]:
        """Every verdict, oldest first."""
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM feedback ORDER BY id").fetchall()
        return [_item(r) for r in rows]

    def counts(self) -> tuple[int, int]:
        """(helpful, not helpful) verdicts so far."""
        items = self.items()
        helpful = sum(i.helpful for i in items)
        return helpful, len(items) - helpful


def _distinct(values: Any) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _item(row: sqlite3.Row) -> FeedbackItem:
    history = tuple(
        Turn(question=t["question"], answer=t.get("answer", "")) for t in json.loads(row["history"])
    )
    return FeedbackItem(
        id=row["id"],
        created_at=row["created_at"],
        question=row["question"],
        standalone_question=row["standalone_question"],
        history=history,
        answer=row["answer"],
        abstained=bool(row["abstained"]),
        helpful=bool(row["helpful"]),
        comment=row["comment"],
        cited_sources=tuple(json.loads(row["cited_sources"])),
        backend=row["backend"],
        index_fingerprint=row["index_fingerprint"],
    )


def question_record(item: FeedbackItem) -> dict[str, Any] | None:
    """The item as one evaluation question (the JSONL format of `rag.evals.questions`), or None
    when it cannot be one (an unhelpful answer: its right sources are not known)."""
    if not item.helpful:
        return None
    if not item.abstained and not item.cited_sources:
        return None
    record: dict[str, Any] = {
        "id": f"feedback-{item.id}",
        "question": item.question,
        "answerable": not item.abstained,
        "gold_sources": [] if item.abstained else list(item.cited_sources),
        "tags": ["feedback"] + (["follow-up"] if item.history else []),
    }
    if item.history:
        record["history"] = [{"question": t.question, "answer": t.answer} for t in item.history]
    return record


def export_jsonl(items: Sequence[FeedbackItem]) -> tuple[str, int]:
    """The exportable items as JSONL text, and how many items were left out (unhelpful ones)."""
    records = [r for item in items if (r := question_record(item)) is not None]
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    return text, len(items) - len(records)
