"""The extractive answerer on real passages from a small real index (see `answer_engine`)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from rag.answer.abstain import ABSTENTION_TEXT, NO_PASSAGES_TEXT
from rag.answer.extractive import ANTECEDENT_STEPS, ExtractiveGenerator
from rag.answer.layout import answer_layout, layout_text
from rag.answer.locate import locate
from rag.answer.sentences import count_words, is_dangling, is_quotable, split_sentences
from rag.config import AnswerSettings

IN_SCOPE = (
    "What is a run chart and how do I read one?",
    "How should I read a funnel plot comparing trusts?",
    "What is psychological safety and why does it matter?",
    "What are Kotter's eight steps?",
    "What is a safety huddle?",
)
OUT_OF_SCOPE = (
    "What is the correct paediatric dose of amoxicillin for otitis media?",
    "How do I make a creamy mushroom risotto?",
)
_MARKER = re.compile(r"\[(\d+)\]")


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def answers(answer_engine):
    return {q: answer_engine.ask(q, backend="extractive") for q in IN_SCOPE}


@pytest.mark.parametrize("question", IN_SCOPE)
def test_excerpts_are_exact_substrings_of_the_stored_document(answer_engine, answers, question):
    answer = answers[question]
    assert answer.citations, f"{question!r}: no citations"
    for c in answer.citations:
        document = answer_engine.index.document_text(c.doc_id)
        assert document[c.start : c.end] == c.excerpt, f"[{c.n}] excerpt is not document[{c.start}:{c.end}]"
        assert c.start <= c.sentence_start < c.sentence_end <= c.end, f"[{c.n}] sentence span outside excerpt"
        (chunk,) = answer_engine.index.get_chunks([c.chunk_id])
        assert chunk.doc_id == c.doc_id and chunk.start <= c.start and c.end <= chunk.end, (
            f"[{c.n}] not in chunk"
        )
        record = answer_engine.index.get_document(c.doc_id)
        assert (c.title, c.source) == (record.title, record.source), (
            f"[{c.n}] title/source differ from registry"
        )
        assert c.verified and c.score > 0, f"[{c.n}] should be verified with a positive score"


@pytest.mark.parametrize("question", IN_SCOPE)
def test_markers_match_citations_and_sentences_are_quoted_verbatim(answers, question):
    answer = answers[question]
    numbers = [int(n) for n in _MARKER.findall(answer.text)]
    cited = [c.n for c in answer.citations]
    assert cited == list(range(1, len(cited) + 1)), f"citations not numbered 1..N: {cited}"
    assert set(numbers) == set(cited), f"markers {sorted(set(numbers))} differ from citations {cited}"
    first_seen = list(dict.fromkeys(numbers))
    assert first_seen == sorted(first_seen), f"numbers do not appear in order: {first_seen}"
    assert answer.text == layout_text(answer_layout(answer.sentences, answer.citations)), "text != layout"
    by_n = {c.n: c for c in answer.citations}
    for s in answer.sentences:
        (n,) = s.citations
        assert _flat(s.text) in _flat(by_n[n].excerpt), (
            f"sentence not quoted from its excerpt [{n}]: {s.text!r}"
        )


@pytest.mark.parametrize("question", IN_SCOPE)
def test_answer_length_and_no_junk(answers, question):
    answer = answers[question]
    words = sum(count_words(s.text) for s in answer.sentences)
    assert 40 <= words <= AnswerSettings().max_words, f"{question!r}: {words} words"
    for s in answer.sentences:
        pieces = split_sentences(s.text)  # the sentence, after the antecedent it refers back to
        assert 1 <= len(pieces) <= 1 + ANTECEDENT_STEPS, f"not one quote: {s.text!r}"
        assert is_quotable(pieces[-1]), f"junk quoted: {s.text!r}"
    for c in answer.citations:
        assert 8 <= count_words(c.excerpt) <= 130, f"[{c.n}] excerpt of {count_words(c.excerpt)} words"


def test_most_answers_reach_the_minimum_length(answers):
    short = [q for q, a in answers.items() if sum(count_words(s.text) for s in a.sentences) < 60]
    assert len(short) <= 1, f"answers under 60 words: {short}"


def test_the_most_direct_sentence_comes_first(answers):
    first = answers["What is a safety huddle?"].sentences[0].text
    assert first.startswith("A safety huddle is"), f"the definition should lead: {first!r}"


def test_duplicated_passages_and_near_duplicate_sentences_are_quoted_once(answer_engine, embedder):
    question = "How do safety huddles reduce harm?"
    passages = list(answer_engine.ask(question).retrieved)
    draft = ExtractiveGenerator(embedder).generate(question, passages + passages)
    texts = [_flat(s.text) for s in draft.sentences]
    assert len(texts) == len(set(texts)), f"a sentence is quoted twice: {texts}"
    repeated = [t for t in texts if t.startswith("Safety huddles reduce harm most when")]
    assert len(repeated) <= 1, f"near-duplicate sentences both quoted: {repeated}"
    spans = [(c.doc_id, c.start, c.end) for c in draft.citations]
    assert len(spans) == len(set(spans)), f"two citations share one excerpt: {spans}"


def test_sentences_of_one_passage_share_its_citation(answer_engine, embedder):
    question = "What is a run chart and how do I read one?"
    top = answer_engine.ask(question).retrieved[0]
    generator = ExtractiveGenerator(embedder, AnswerSettings(min_words=150, max_words=200))
    draft = generator.generate(question, [top])
    assert len(draft.sentences) >= 3, f"expected several sentences from one passage: {draft.text!r}"
    assert len(draft.citations) < len(draft.sentences), "sentences of one passage should reuse a number"
    assert {c.chunk_id for c in draft.citations} == {top.chunk.id}, "citations must come from the one passage"


@pytest.mark.parametrize("question", OUT_OF_SCOPE)
def test_out_of_scope_questions_abstain_and_list_nearest_documents(answer_engine, question):
    answer = answer_engine.ask(question, backend="extractive")
    assert answer.abstained, f"{question!r} should abstain, got {answer.text!r}"
    assert answer.text == ABSTENTION_TEXT and not answer.citations and not answer.sentences
    assert answer.nearest_documents, "an abstention lists the nearest documents"


def test_in_scope_questions_do_not_abstain(answers):
    abstained = [q for q, a in answers.items() if a.abstained]
    assert not abstained, f"in-scope questions abstained: {abstained}"


def test_no_passages_abstains_and_tokens_reach_the_callback(embedder, answer_engine):
    generator = ExtractiveGenerator(embedder)
    tokens: list[str] = []
    draft = generator.generate("What is a run chart?", [], on_token=tokens.append)
    assert draft.abstained and draft.text == NO_PASSAGES_TEXT and tokens == [NO_PASSAGES_TEXT]
    passages = answer_engine.ask("What is a run chart?").retrieved
    tokens.clear()
    draft = generator.generate("What is a run chart?", passages, on_token=tokens.append)
    assert "".join(tokens) == draft.text and not draft.abstained, "the callback should receive the answer"


def test_threshold_decides_abstention_without_the_neural_stage(embedder, answer_engine):
    # Passages the cross-encoder has not read: the hand-weighted fallback and its threshold decide.
    question = "What is a run chart?"
    passages = [replace(p, neural_score=None) for p in answer_engine.ask(question).retrieved]
    evidence = ExtractiveGenerator(embedder).assess(question, passages)
    assert evidence is not None and 0 < evidence.score <= 1, evidence
    above = AnswerSettings(abstain_threshold=evidence.score + 0.01)
    below = AnswerSettings(abstain_threshold=evidence.score - 0.01)
    assert ExtractiveGenerator(embedder, above).generate(question, passages).abstained
    assert not ExtractiveGenerator(embedder, below).generate(question, passages).abstained


def test_citation_fields_come_from_the_chunk(answer_engine, answers):
    answer = answers["What is a run chart and how do I read one?"]
    chunk_ids = {r.chunk.id: r.chunk for r in answer.retrieved}
    for c in answer.citations:
        chunk = chunk_ids[c.chunk_id]
        # The engine relocates each citation to its excerpt's own pages and section (rag/answer/locate.py).
        pages, sections = answer_engine.index.document_spans(c.doc_id)
        expected = locate(
            replace(c, page=chunk.page, page_end=chunk.page_end, section=chunk.section), pages, sections
        )
        assert c == expected, f"[{c.n}] page/section should be the excerpt's"
        assert c.section and c.section.startswith("Run charts"), f"[{c.n}] section {c.section!r}"


DANGLING_QUESTIONS = (
    *IN_SCOPE,
    "Why do staff stay silent about mistakes?",
    "What goes wrong when teams misread a funnel plot?",
    "How do leaders build psychological safety in a team?",
    "What happens when a run chart has too few points?",
)


@pytest.mark.parametrize("question", DANGLING_QUESTIONS)
def test_no_quote_opens_with_a_reference_back_without_its_antecedent(answer_engine, question):
    answer = answer_engine.ask(question, backend="extractive")
    for s in answer.sentences:
        assert not is_dangling(s.text), f"{question!r}: quote opens with a dangling reference: {s.text!r}"


def test_a_back_referring_sentence_carries_the_sentence_before_it(answer_engine, embedder):
    question = "What is psychological safety and why does it matter?"
    passages = answer_engine.ask(question).retrieved
    generator = ExtractiveGenerator(embedder)
    generator.shortlist_size = 24  # a longer pool than the shipped 8, so it holds back-referring sentences
    pool = generator.pool(question, passages)
    joined = [c for c in pool if c.first != c.index]
    assert any(is_dangling(c.sentence.text) for c in pool), (
        "the fixture should hold a back-referring sentence"
    )
    for c in pool:
        if is_dangling(c.sentence.text) and not c.orphan:
            assert c in joined and not is_dangling(c.quote), f"not carried: {c.quote!r}"
            assert c.quote == c.passage.chunk.text[c.sentences[c.first].start : c.sentence.end]
            assert c.quote.endswith(c.sentence.text), "the quote ends with the sentence itself"


def test_orphans_are_never_chosen(answer_engine, embedder):
    generator = ExtractiveGenerator(embedder)
    for question in DANGLING_QUESTIONS:
        passages = answer_engine.ask(question).retrieved
        draft = generator.generate(question, passages)
        orphans = {c.quote for c in generator.pool(question, passages) if c.orphan}
        quoted = {s.text for s in draft.sentences}
        assert not orphans & quoted, f"{question!r}: an orphan was quoted: {orphans & quoted}"


def test_a_comparison_quotes_each_side(answer_engine):
    answer = answer_engine.ask("Should I use a run chart or a funnel plot?", backend="extractive")
    assert not answer.abstained, answer.text
    text = " ".join(s.text.lower() for s in answer.sentences)
    assert "run chart" in text and "funnel plot" in text, f"one side missing: {answer.text!r}"
    titles = {c.title for c in answer.citations}
    assert len(titles) >= 2, f"both briefs should be cited: {titles}"
    leads = [s for s in answer.sentences if s.role == "lead"]
    assert 1 <= len(leads) <= 2, f"one or two lead sentences: {leads}"


def test_answers_lead_then_points_by_source(answers):
    for question, answer in answers.items():
        roles = [s.role for s in answer.sentences]
        assert roles[0] == "lead" and roles.count("lead") <= 2, f"{question!r}: {roles}"
        assert roles == sorted(roles), f"{question!r}: lead sentences come first: {roles}"
        if "point" in roles:
            assert '\nFrom "' in answer.text, f"{question!r}: points are grouped by source: {answer.text!r}"


def test_evidence_is_read_from_the_passages_the_cross_encoder_judged(embedder, answer_engine):
    # Passages past those the cross-encoder read widen what may be quoted; whether the library
    # answers is judged on the read ones alone, as the abstention model was fitted (rag/config.py, k).
    question = "What is a funnel plot and how do I read one?"
    passages = answer_engine.ask(question).retrieved
    read = [p for p in passages if p.neural_score is not None]
    assert len(read) >= 4, "the test needs passages the cross-encoder read"
    judged, unread = read[:1], [replace(p, neural_score=None) for p in read[1:]]
    generator = ExtractiveGenerator(embedder)
    alone = generator.assess(question, judged)
    widened = generator.assess(question, judged + unread)
    assert alone is not None and widened is not None
    assert widened.scope == alone.scope, "unread passages should not change what the passages lack"
    assert widened.best_cosine <= alone.best_cosine + 1e-6 and widened.coverage == pytest.approx(
        alone.coverage
    ), "the evidence should come from the judged passage's sentences"
    # ... and the unread passages' sentences may still be quoted.
    quotable_from = {c.rank for c in generator.pool(question, judged + unread)}
    assert quotable_from - {0}, "sentences of the unread passages should stay among those that may be quoted"
