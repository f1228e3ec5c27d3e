"""What the passages lack of a question: the near-domain signals of the learned abstention."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rag.answer.scope import MAX_MISSING, scope_signals, specific_terms
from rag.types import Chunk, ScoredChunk


def _passages(*texts: str, title: str = "Spreading improvement") -> list[ScoredChunk]:
    return [
        ScoredChunk(Chunk(id=str(i), doc_id=str(i), text=t, start=0, end=len(t), meta={"title": title}), 0.5)
        for i, t in enumerate(texts)
    ]


def test_specific_terms_are_numbers_names_and_acronyms_not_sentence_openers():
    assert specific_terms("Who chairs the National Improvement Board now?") == {
        "national",
        "improvement",
        "board",
    }
    assert specific_terms("What's the 2025/26 tariff for a hip?") == {"2025", "26"}
    assert specific_terms("I'm at Guy's. What did the GIRFT visit find?") == {"guy", "girft"}
    assert specific_terms("PDSA cycles on a ward: where do I start?") == {"pdsa"}
    assert specific_terms("how do i reset my password") == set()


def test_a_name_or_number_no_passage_holds_counts_as_missing():
    passages = _passages("East London NHS Foundation Trust trained staff in quality improvement.")
    held = scope_signals("How has East London NHS Foundation Trust trained staff?", passages, [])
    assert held.missing_specific == 0.0 and held.passage_coverage == 1.0
    absent = scope_signals("How has Mersey Care trained staff in 2023?", passages, [])
    assert absent.missing_specific == 3.0  # "mersey", "care", "2023"
    assert absent.passage_coverage < 1.0
    many = scope_signals("Did Leeds, York, Hull, Bath and Derby train staff?", passages, [])
    assert many.missing_specific == MAX_MISSING


def test_the_title_and_section_count_as_part_of_the_passage():
    passages = _passages("Staff were trained in small tests of change.", title="The Q community")
    assert (
        scope_signals("What does the Q community say about training?", passages, []).missing_specific == 0.0
    )


def test_a_number_asked_for_must_appear_in_a_close_sentence():
    passages = _passages("Readmissions fell.")
    asked = "How many staff were trained?"
    assert scope_signals(asked, passages, ["Staff were trained widely."]).type_missing == 1.0
    assert scope_signals(asked, passages, ["Some 2,000 staff were trained."]).type_missing == 0.0
    assert scope_signals(asked, passages, ["Half the staff were trained."]).type_missing == 0.0
    assert (
        scope_signals("How do we train staff?", passages, ["Staff were trained widely."]).type_missing == 0.0
    )


def test_a_person_asked_for_must_be_named_in_a_close_sentence():
    passages = _passages("The board sets priorities.")
    asked = "Who chairs the board?"
    assert scope_signals(asked, passages, ["The board meets monthly."]).type_missing == 1.0
    assert scope_signals(asked, passages, ["The board is chaired by Jane Smith."]).type_missing == 0.0
    # "who should..." asks for a role, not a named person
    assert scope_signals("Who should sit on the board?", passages, ["The board meets."]).type_missing == 0.0


def test_questions_about_the_present_are_flagged():
    passages = _passages("Turnover fell.")
    assert scope_signals("What is the turnover rate this year?", passages, []).asks_present == 1.0
    assert scope_signals("Who leads it now?", passages, []).asks_present == 1.0
    assert scope_signals("Why does turnover fall after rota changes?", passages, []).asks_present == 0.0


@pytest.mark.parametrize(
    ("asked", "present"),
    [
        ("How many analysts use the SPC function now?", 1.0),
        ("Where does the author work now?", 1.0),
        ("whos the national lead now", 1.0),
        ("What is the waiting list right now?", 1.0),
        # "now" as the moment of the asker's situation
        ("Our best nurse has handed in her notice. What now?", 0.0),
        ("An audit found a problem. What do we do now?", 0.0),
        ("is it daft to switch everyone over to video clinics now?", 0.0),
        ("What's different now under the new framework?", 0.0),
    ],
)
def test_a_bare_now_counts_only_after_a_fact(asked, present):
    assert scope_signals(asked, _passages("Turnover fell."), []).asks_present == present


@pytest.mark.parametrize(
    ("asked", "present"),
    [
        # the time of the situation, told before the question, is not what is asked about
        ("One of my nurses made an error last week and she's now off sick. How should I support her?", 0.0),
        ("We've had four initiatives launched this year. What can I actually do?", 0.0),
        ("Our falls rate rose in the spring. What is the national figure this year?", 1.0),
        ("who leads it now", 1.0),  # no question mark: all of it is the question
    ],
)
def test_only_the_question_sentence_can_ask_about_the_present(asked, present):
    assert scope_signals(asked, _passages("Turnover fell."), []).asks_present == present


def test_a_year_is_not_the_quantity_asked_for_but_answers_a_when():
    passages = _passages("The programme began.")
    cited = ["The programme was described by Jones (2015)."]
    assert scope_signals("How much did the programme cost?", passages, cited).type_missing == 1.0
    assert scope_signals("How much did the programme cost?", passages, ["It cost £2m."]).type_missing == 0.0
    assert (
        scope_signals("Readmissions fell by what percentage?", passages, ["They fell 12%."]).type_missing
        == 0.0
    )
    assert scope_signals("In what year did the programme begin?", passages, cited).type_missing == 0.0
    assert (
        scope_signals("When was the programme launched?", passages, ["It was launched."]).type_missing == 1.0
    )


def test_the_recent_past_and_the_future_count_as_the_present():
    passages = _passages("Turnover fell.")
    for asked in (
        "What CQC rating did the trust get at its last inspection?",
        "Who is the current chair?",
        "When will the next edition be published?",
    ):
        assert scope_signals(asked, passages, []).asks_present == 1.0, asked


def _read(passages: list[ScoredChunk], *logits: float) -> list[ScoredChunk]:
    """The passages with cross-encoder logits, as the engine hands them to the answerer."""
    return [replace(p, neural_score=logit) for p, logit in zip(passages, logits, strict=True)]


def test_a_name_the_best_read_passage_lacks_counts_even_when_another_passage_holds_it():
    passages = _read(
        _passages(
            "Readmissions fell after the lean programme.",
            "Virginia Mason is often cited as a lean exemplar.",
        ),
        2.0,
        -1.0,
    )
    signals = scope_signals("How far did readmissions fall at Virginia Mason?", passages, [])
    assert signals.missing_specific == 0.0  # some passage names it
    assert signals.best_missing == 2.0  # the passage the cross-encoder rates best does not
    flipped = _read(passages, -1.0, 2.0)
    assert scope_signals("How far did readmissions fall at Virginia Mason?", flipped, []).best_missing == 0.0


def test_without_cross_encoder_scores_the_first_passage_stands_for_the_best():
    passages = _passages("Readmissions fell.", "Virginia Mason is a lean exemplar.")
    assert scope_signals("What did Virginia Mason do?", passages, []).best_missing == 2.0


def test_a_year_later_than_any_the_passages_hold_is_flagged():
    passages = _passages("The 2016 guide (revised from 2011) sets the standard.", title="Outpatient guide")
    assert scope_signals("What changed in the 2024 update?", passages, []).year_after == 1.0
    assert scope_signals("What did the 2016 guide change from 2011?", passages, []).year_after == 0.0
    assert scope_signals("What did the 2011 version say?", passages, []).year_after == 0.0
    assert scope_signals("What does the guide say about masks?", passages, []).year_after == 0.0
    undated = _passages("Masks are worn in clinic.")
    assert scope_signals("What was the rule in 2019?", undated, []).year_after == 1.0
