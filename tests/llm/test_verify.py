"""Sentence-level checking of generated answers against the excerpts they cite."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rag.answer.terms import content_terms
from rag.llm.verify import (
    MIN_CLAIM_TERMS,
    MIN_EMBEDDING_COSINE,
    MIN_LEXICAL_RECALL,
    is_supported,
    lexical_recall,
    parse_markers,
    strip_markers,
    verify_answer,
)
from rag.types import Chunk, ScoredChunk
from tests.llm.fakes import FAITHFUL, INVENTED_DETAIL, OFF_TOPIC, UNSUPPORTED


@pytest.mark.parametrize(
    ("lexical", "cosine", "expected"),
    [
        (MIN_LEXICAL_RECALL, MIN_EMBEDDING_COSINE, True),  # at both thresholds
        (MIN_LEXICAL_RECALL + 0.01, MIN_EMBEDDING_COSINE + 0.01, True),  # just above both
        (MIN_LEXICAL_RECALL - 0.01, MIN_EMBEDDING_COSINE + 0.2, False),  # lexical just below
        (MIN_LEXICAL_RECALL + 0.4, MIN_EMBEDDING_COSINE - 0.01, False),  # cosine just below
        (1.0, 1.0, True),
        (0.0, 0.0, False),
    ],
)
def test_support_needs_both_thresholds(lexical, cosine, expected):
    assert is_supported(lexical, cosine) is expected, f"lexical={lexical} cosine={cosine}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("aims and measures", MIN_LEXICAL_RECALL),  # 2 of 4 content words: at the threshold
        ("aims, measures and changes", 0.75),  # just above
        ("aims only", 0.25),  # below
    ],
)
def test_lexical_recall_counts_distinct_content_words(source, expected):
    claim = "Aims, measures, changes and tests."
    assert len(set(content_terms(claim))) == 4, "the claim has four content words"
    recall = lexical_recall(claim, set(content_terms(source)))
    assert math.isclose(recall, expected), f"{source!r}: recall {recall}, expected {expected}"
    assert is_supported(recall, 1.0) is (recall >= MIN_LEXICAL_RECALL)


def test_a_claim_without_content_words_has_no_support():
    assert lexical_recall("It is what it is.", {"it"}) == 0.0, "stopwords alone never count as support"


def test_markers_are_parsed_in_every_usual_form():
    text = "A [1]. B [2][3]. C [1, 4]. D [2; 5]."
    assert parse_markers(text) == [1, 2, 3, 4, 5], "[n], [n][m], [n, m] and [n; m] are all citations"
    assert strip_markers(text) == "A. B. C. D.", "markers are removed with their spaces"


def test_faithful_sentences_are_verified_and_cited_verbatim(pdsa_passages, pdsa_document, shared_embedder):
    answer = " ".join(f"{text[:-1]} [{n}]." for n, text in FAITHFUL.items())
    checked = verify_answer(answer, pdsa_passages, shared_embedder)
    assert [s.verified for s in checked.sentences] == [True] * 4, [
        (c.text, round(c.lexical, 2), round(c.cosine, 2)) for c in checked.checks
    ]
    assert [s.citations for s in checked.sentences] == [(1,), (2,), (3,), (4,)]
    assert checked.text == answer, "a clean answer is returned unchanged"
    assert [c.n for c in checked.citations] == [1, 2, 3, 4] and all(c.verified for c in checked.citations)
    for citation in checked.citations:
        assert pdsa_document.text[citation.start : citation.end] == citation.excerpt, (
            f"citation {citation.n}: the excerpt must be the document text at its span"
        )
        assert citation.start <= citation.sentence_start < citation.sentence_end <= citation.end
    assert not checked.invented and not checked.declined


def test_wrong_unsupported_uncited_and_invented_citations(pdsa_passages, shared_embedder):
    answer = (
        f"{FAITHFUL[1][:-1]} [1]. {FAITHFUL[3][:-1]} [1]. {UNSUPPORTED[:-1]} [1]. {OFF_TOPIC[:-1]} [2]. "
        f"{INVENTED_DETAIL[:-1]} [1]. {FAITHFUL[2][:-1]} [2][9]. A sentence without any citation."
    )
    checked = verify_answer(answer, pdsa_passages, shared_embedder)
    verdicts = [(s.verified, s.citations) for s in checked.sentences]
    assert verdicts == [
        (True, (1,)),
        (False, (1,)),  # true statement, but excerpt 1 does not say it
        (False, (1,)),  # invented figure
        (False, (2,)),  # another subject
        (False, (1,)),  # invented detail on the right subject
        (True, (2,)),  # the invented [9] is dropped, the real [2] kept
        (False, ()),  # uncited
    ], [(c.text, round(c.lexical, 2), round(c.cosine, 2)) for c in checked.checks]
    assert checked.invented == (9,), "citation numbers that name no excerpt are reported"
    assert "[9]" not in checked.text and "inspection [2]." in checked.text, checked.text
    assert {c.n for c in checked.citations} == {1, 2}, "only existing excerpts are cited"
    assert all(c.verified for c in checked.citations), "each citation supports one verified sentence"


def test_markers_after_the_full_stop_stay_with_their_sentence(pdsa_passages, shared_embedder):
    answer = f"{FAITHFUL[2]} [2] {FAITHFUL[3]}[3] {FAITHFUL[4]}\n[4]"
    checked = verify_answer(answer, pdsa_passages, shared_embedder)
    assert [s.citations for s in checked.sentences] == [(2,), (3,), (4,)], checked.sentences
    assert all(s.verified for s in checked.sentences), checked.checks


def test_only_unsupported_sentences_leave_their_citation_unverified(pdsa_passages, shared_embedder):
    checked = verify_answer(f"{UNSUPPORTED[:-1]} [3].", pdsa_passages, shared_embedder)
    assert checked.n_verified == 0
    assert [(c.n, c.verified) for c in checked.citations] == [(3, False)], "the citation is shown, unverified"


class _FixedCosine:
    """Embeds `claim` as e0 and every other text at exactly `cosine` from it (a controlled fake)."""

    def __init__(self, claim: str, cosine: float) -> None:
        self.claim = claim
        self.other = np.array([cosine, math.sqrt(1 - cosine**2)], dtype=np.float64)

    def embed_batch(self, texts):
        return np.stack([np.array([1.0, 0.0]) if t == self.claim else self.other for t in texts])


@pytest.mark.parametrize(
    ("cosine", "expected"),
    [(MIN_EMBEDDING_COSINE, True), (MIN_EMBEDDING_COSINE + 0.01, True), (MIN_EMBEDDING_COSINE - 0.01, False)],
)
def test_embedding_threshold_decides_for_a_lexically_perfect_sentence(cosine, expected):
    text = "Run charts show the data over time. They reveal shifts and trends early."
    passage = ScoredChunk(Chunk(id="c", doc_id="d", text=text, start=0, end=len(text)), 1.0)
    claim = "Run charts show data over time."
    checked = verify_answer(f"{claim[:-1]} [1].", [passage], _FixedCosine(claim, cosine))
    assert checked.checks[0].lexical == 1.0, "every word of the claim is in the excerpt"
    assert checked.sentences[0].verified is expected, f"cosine {cosine} vs {MIN_EMBEDDING_COSINE}"


@pytest.mark.parametrize(
    ("claim", "expected"),
    [
        ("Charts show shifts.", True),  # three content words: at the minimum
        ("Run charts show shifts.", True),  # four: above
        ("Run charts.", False),  # two: below, not a checkable claim
    ],
)
def test_a_claim_needs_enough_content_words(claim, expected):
    assert (len(set(content_terms(claim))) >= MIN_CLAIM_TERMS) is expected, "the cases straddle the minimum"
    text = "Run charts show the shifts and trends in data over time."
    passage = ScoredChunk(Chunk(id="c", doc_id="d", text=text, start=0, end=len(text)), 1.0)
    checked = verify_answer(f"{claim[:-1]} [1].", [passage], _FixedCosine(claim, 0.9))
    assert checked.checks[0].lexical == 1.0, "every word of the claim is in the excerpt"
    assert checked.sentences[0].verified is expected, claim
