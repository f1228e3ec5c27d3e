"""The PubMedQA adapter on real records from ../shared/datasets/pubmedqa-pqal-dev."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import QuestionSetError
from rag.evals.pubmedqa import load_pubmedqa, to_questions, write_documents
from rag.evals.questions import resolve_gold

DATASET = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "pubmedqa-pqal-dev"


@pytest.fixture(scope="module")
def records():
    if not DATASET.is_dir():
        pytest.fail(f"the PubMedQA dataset is expected at {DATASET}")
    return load_pubmedqa(DATASET, limit=3)


def test_records_keep_the_fields_the_evaluation_needs(records):
    raw = json.loads((DATASET / "pqal_dev.json").read_text(encoding="utf-8"))
    assert [r.pmid for r in records] == list(raw)[:3], "records should come in file order"
    for r in records:
        source = raw[r.pmid]
        assert r.question == source["QUESTION"].strip()
        assert list(r.contexts) == source["CONTEXTS"]
        assert r.long_answer == source["LONG_ANSWER"].strip()
        assert r.final_decision in {"yes", "no", "maybe"}


def test_each_record_becomes_one_untitled_document_named_by_pmid(records, tmp_path):
    paths = write_documents(records, tmp_path / "docs")
    assert [p.name for p in paths] == [f"{r.pmid}.txt" for r in records]
    for path, record in zip(paths, records, strict=True):
        text = path.read_text(encoding="utf-8")
        for context in record.contexts:
            assert context.strip() in text, f"context of {record.pmid} missing from its document"
        assert record.question not in text, "the question must not leak into the document"


def test_questions_ask_for_their_own_document(records, tmp_path):
    questions = to_questions(records)
    paths = write_documents(records, tmp_path)
    documents = [(f"hash{i}", str(p)) for i, p in enumerate(paths)]
    for i, (q, r) in enumerate(zip(questions, records, strict=True)):
        assert q.gold_sources == (r.pmid,)
        assert q.reference_answer == r.long_answer
        assert q.expected_decision == r.final_decision
        assert f"decision-{r.final_decision}" in q.tags
        matched, missing = resolve_gold(q.gold_sources, documents)
        assert matched == {f"hash{i}"} and not missing, "the PubMed id should match the <pmid>.txt document"


def test_bad_files_are_clear_errors(tmp_path):
    with pytest.raises(QuestionSetError, match="no PubMedQA file"):
        load_pubmedqa(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"1": {"QUESTION": "Q?", "CONTEXTS": ["c"], "final_decision": "perhaps"}}))
    with pytest.raises(QuestionSetError, match="record 1: final_decision must be one of yes/no/maybe"):
        load_pubmedqa(bad)
    empty_contexts = tmp_path / "empty.json"
    empty_contexts.write_text(json.dumps({"2": {"QUESTION": "Q?", "CONTEXTS": [], "final_decision": "yes"}}))
    with pytest.raises(QuestionSetError, match="record 2: CONTEXTS"):
        load_pubmedqa(empty_contexts)
