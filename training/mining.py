"""Question-passage pairs for the cross-encoder, mined with the current retriever.

For a library question: the engine's first stages (hybrid retrieval, the feature reranker) give
the top candidates. Positives are windows (rag.retrieve.cross_encoder.passage_windows) of a gold
document's chunks that contain one of the question's gold phrases; hard negatives are windows of
the top candidates from documents that are not gold. Windows of a gold document without a gold
phrase are left out (they may answer too). Every top candidate of an out-of-scope question is a
negative. An *answer-removed* negative is a positive chunk with the sentences holding the gold
phrases taken out: same document, same heading, same topic, no answer (the way SQuAD 2.0 style
unanswerable pairs are made), so the model learns that a passage about the right thing is not yet
an answer, which is what a near-domain trap tests. PubMedQA records give positives from their own abstract and negatives from the
abstracts sharing most of the question's terms.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.answer.sentences import split_sentences
from rag.retrieve.cross_encoder import best_window, passage_header, passage_windows, read_window, text_windows

_SPACE = re.compile(r"\s+")
MINE_DEPTH = 20  # top candidates a question's negatives come from
# Caps per question: with every training question, about 7,000 pairs (a few minutes an epoch on
# 2 idle cores). Out-of-scope questions give more negatives than answerable ones: declining the
# near-domain traps rests on the model scoring every close-but-not-answering passage low.
NEGATIVES_PER_QUESTION = 4
POSITIVES_PER_QUESTION = 2
OOS_NEGATIVES = 6
ANSWER_REMOVED_NEGATIVES = 1  # per answerable question (0 turns them off: `--answer-removed`)
ANSWER_REMOVED_MIN_WORDS = 40  # what is left of the chunk must read as a passage, not a fragment
PUBMED_POSITIVES = 1
PUBMED_NEGATIVE_RECORDS = 2


@dataclass(frozen=True)
class Pair:
    group: str  # the question's id: every pair of one question shares it
    source: str  # which question set it came from
    question: str
    text: str
    label: int


def normalise(text: str) -> str:
    return _SPACE.sub(" ", text).strip().casefold()


def read_questions(path: Path) -> list[dict]:
    """JSON lines of a question set (blank and // lines skipped; a broken line is skipped, not fatal:
    the training sets are written while this runs)."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("//"):
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and row.get("question") and row.get("id"):
            out.append(row)
    return out


def gold_doc_ids(row: dict, documents: Sequence[tuple[str, str]]) -> set[str]:
    from rag.evals.questions import resolve_gold

    return resolve_gold(row.get("gold_sources") or [], documents)[0]


def standalone(engine, row: dict) -> str:
    from rag.types import Turn

    history = [Turn(h.get("question", ""), h.get("answer", "")) for h in row.get("history") or []]
    return engine.condenser(row["question"], history) if history else row["question"]


def first_stage(engine, question: str, depth: int) -> list:
    """The engine's candidates for `question` in the feature reranker's order (the neural stage's input)."""
    candidates = engine.retriever.search(question, engine.settings.retrieval.candidates, None)
    first = getattr(engine.reranker, "first", engine.reranker)
    return first.rerank(question, candidates, len(candidates))[:depth]


def _folded_offsets(text: str) -> tuple[str, list[int]]:
    """`normalise(text)` and, for each of its characters, the offset in `text` it came from."""
    out: list[str] = []
    where: list[int] = []
    for match in re.finditer(r"\S+", text):
        if out:
            out.append(" ")
            where.append(match.start())
        for i, char in enumerate(match.group()):
            folded = char.casefold()
            out.append(folded)
            where += [match.start() + i] * len(folded)
    return "".join(out), where


def without_answer(text: str, phrases: Sequence[str]) -> str | None:
    """`text` without the sentences that hold any part of a (normalised) gold phrase; None when no
    phrase occurs or fewer than ANSWER_REMOVED_MIN_WORDS words are left."""
    folded, where = _folded_offsets(text)
    spans = []
    for phrase in phrases:
        start = folded.find(phrase)
        while phrase and start != -1:
            spans.append((where[start], where[start + len(phrase) - 1] + 1))
            start = folded.find(phrase, start + 1)
    if not spans:
        return None
    kept = [
        s.text
        for s in split_sentences(text)
        if not any(s.start < end and begin < s.end for begin, end in spans)
    ]
    left = " ".join(kept)
    if len(left.split()) < ANSWER_REMOVED_MIN_WORDS or any(p in normalise(left) for p in phrases):
        return None
    return left


def answer_removed(question: str, chunks: Sequence, phrases: Sequence[str], n: int) -> list[str]:
    """Up to `n` windows of gold chunks with their answer taken out (see the module docstring)."""
    windows: list[str] = []
    for chunk in chunks:
        left = without_answer(chunk.text, phrases)
        if left is not None:
            windows.append(best_window(question, text_windows(left, passage_header(chunk))))
        if len(windows) == n:
            break
    return windows


def mine_library(
    engine, rows: Iterable[dict], source: str, rng: random.Random, removed: int = ANSWER_REMOVED_NEGATIVES
) -> list[Pair]:
    """Pairs for the questions `rows` against the engine's library (`removed`: answer-removed
    negatives per answerable question)."""
    documents = [(d.doc_id, d.source) for d in engine.documents()]
    pairs: list[Pair] = []
    for row in rows:
        question = standalone(engine, row)
        ranked = first_stage(engine, question, MINE_DEPTH)
        group = f"{source}:{row['id']}"
        if not row.get("answerable", True):
            for item in ranked[:OOS_NEGATIVES]:
                pairs.append(Pair(group, source, question, read_window(question, item.chunk), 0))
            continue
        gold = gold_doc_ids(row, documents)
        phrases = [normalise(p) for p in row.get("gold_phrases") or [] if p.strip()]
        if not gold or not phrases:
            continue
        positives: list[str] = []
        answering = []  # the gold chunks holding a phrase
        for doc_id in sorted(gold):
            for chunk in engine.index.document_chunks(doc_id):
                holding = [w for w in passage_windows(chunk) if any(p in normalise(w) for p in phrases)]
                if holding:  # of a chunk's windows holding the phrase, the one the model would pick
                    positives.append(best_window(question, holding))
                    answering.append(chunk)
        positives = list(dict.fromkeys(positives))
        rng.shuffle(positives)
        rng.shuffle(answering)
        negatives = []
        for item in ranked:
            if item.chunk.doc_id in gold:
                continue
            window = read_window(question, item.chunk)  # what the model reads of it at run time
            if not any(p in normalise(window) for p in phrases):
                negatives.append(window)
            if len(negatives) == NEGATIVES_PER_QUESTION:
                break
        pairs += [Pair(group, source, question, w, 1) for w in positives[:POSITIVES_PER_QUESTION]]
        pairs += [Pair(group, source, question, w, 0) for w in negatives]
        pairs += [
            Pair(group, source, question, w, 0) for w in answer_removed(question, answering, phrases, removed)
        ]
    return pairs


def pubmed_split(records: Sequence) -> tuple[list, list]:
    """The fixed halves of PubMedQA: records at even positions of the sorted PubMed ids train,
    odd positions are held out."""
    ordered = sorted(records, key=lambda r: r.pmid)
    return ordered[0::2], ordered[1::2]


def mine_pubmed(records: Sequence, pool: Sequence, rng: random.Random) -> list[Pair]:
    """Pairs for PubMedQA `records`; negatives come from the other abstracts of `pool` that share
    most of the question's terms (lexical, so mining stays cheap on a busy machine)."""
    from rag.retrieve.terms import terms

    pool_terms = [set(terms(r.text)) for r in pool]
    pairs: list[Pair] = []
    for record in records:
        group = f"pubmedqa:{record.pmid}"
        windows = text_windows(record.text, record.pmid)
        rng.shuffle(windows)
        for window in windows[:PUBMED_POSITIVES]:
            pairs.append(Pair(group, "pubmedqa", record.question, window, 1))
        wanted = set(terms(record.question))
        order = sorted(range(len(pool)), key=lambda i: (-len(wanted & pool_terms[i]), pool[i].pmid))
        others = [pool[i] for i in order if pool[i].pmid != record.pmid][:PUBMED_NEGATIVE_RECORDS]
        for other in others:
            window = best_window(record.question, text_windows(other.text, other.pmid))
            pairs.append(Pair(group, "pubmedqa", record.question, window, 0))
    return pairs


def write_pairs(pairs: Sequence[Pair], path: Path) -> str:
    """Write `pairs` as JSON lines; returns the SHA-256 of the file (the training data hash)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = "".join(json.dumps(asdict(p), sort_keys=True) + "\n" for p in pairs)
    path.write_text(blob, encoding="utf-8")
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def read_pairs(path: Path) -> list[Pair]:
    return [Pair(**json.loads(line)) for line in Path(path).read_text(encoding="utf-8").splitlines() if line]
