"""Deterministic follow-up rewriting: natural standalone questions, no bracketed tails."""

from __future__ import annotations

import re

import pytest

from rag.answer.rewrite import is_followup, key_phrase, plausible_topic, rewrite_followup
from rag.answer.topic import topic_of
from rag.types import Turn

MFI = [Turn("What is the Model for Improvement?", "The Model for Improvement is a framework ... [1]")]
PDSA = [Turn("How do I run a PDSA cycle?", "...")]
SAFETY = [Turn("What is psychological safety?", "...")]
WARD = [Turn("What is the Productive Ward?", "...")]
WORKS = [Turn("How does the Productive Ward work?", "")]
KOTTER = [
    Turn("What's Kotter's model?", "Eight steps for leading organisational change, from urgency to culture.")
]
LEWIN = [Turn("What is Lewin's three-step model of change?", "")]
ICS = [Turn("What are integrated care systems?", "")]
RUN = [Turn("Does a run chart need 20 points?", "")]
FUNNEL = [Turn("How do I make a funnel plot of length of stay in R?", "")]
STUDY = [Turn("What is the OHDSI Keppra angioedema study about?", "")]
GRID = [Turn("What is a power-interest grid?", "A map of stakeholders by power and interest.")]
HUDDLE = [Turn("What is a safety huddle?", "")]
LEAN = [Turn("How do I introduce Lean on a surgical ward?", "")]
SHIFT = [Turn("What counts as a shift on a run chart?", "")]
SUSTAIN = [Turn("Can the NHS Sustainability Model predict which projects last?", "")]
EBCD = [Turn("How long does experience-based co-design take?", "")]
GUIDE = [Turn("What does the CDC guide to infection prevention cover?", "")]


@pytest.mark.parametrize(
    ("question", "history", "expected"),
    [
        # a fragment joins the earlier question
        ("and in primary care?", PDSA, "How do I run a PDSA cycle in primary care?"),
        ("In mental health services?", PDSA, "How do I run a PDSA cycle in mental health services?"),
        ("and for mental health wards?", WORKS, "How does the Productive Ward work for mental health wards?"),
        ("and in Python?", FUNNEL, "How do I make a funnel plot of length of stay in Python?"),
        # "what about X" asks the earlier question of X
        ("what about run charts?", MFI, "What are run charts?"),
        ("what about in Wales?", PDSA, "How do I run a PDSA cycle in Wales?"),
        ("what about spreading it?", PDSA, "What about spreading a PDSA cycle?"),
        # pronouns and "the first one" take the topic's place
        ("who wrote that?", MFI, "Who wrote the Model for Improvement?"),
        ("Does it work in primary care?", MFI, "Does the Model for Improvement work in primary care?"),
        ("What are its limits?", MFI, "What are the limits of the Model for Improvement?"),
        ("Is this approach evidence-based?", MFI, "Is the Model for Improvement evidence-based?"),
        ("How can I measure it in my team?", SAFETY, "How can I measure psychological safety in my team?"),
        ("Who started it?", WARD, "Who started the Productive Ward?"),
        ("how long does that take?", PDSA, "How long does a PDSA cycle take?"),
        (
            "and has anyone shown they actually improve outcomes?",
            ICS,
            "Has anyone shown integrated care systems actually improve outcomes?",
        ),
        (
            "Is it true he never actually said 'refreeze'?",
            LEWIN,
            "Is it true Lewin never actually said 'refreeze'?",
        ),
        ("what's the first one?", KOTTER, "What's the first step of Kotter's model?"),
        ("what's the catch with using one?", GRID, "What's the catch with using a power-interest grid?"),
        (
            "why did they pick phenytoin?",
            STUDY,
            "Why did the authors of the OHDSI Keppra angioedema study pick phenytoin?",
        ),
        (
            "is there a checklist in there?",
            GUIDE,
            "Is there a checklist in the CDC guide to infection prevention?",
        ),
        (
            "and what sort of model should I use for it?",
            FUNNEL,
            "What sort of model should I use for a funnel plot of length of stay?",
        ),
        ("is it worth it?", WARD, "Is the Productive Ward worth it?"),
        ("so how often should we do them?", HUDDLE, "How often should we do safety huddles?"),
        # the earlier question's circumstances do not become part of the topic
        ("who invented it?", LEAN, "Who invented Lean?"),
        ("how long does it take?", SHIFT, "How long does a shift on a run chart take?"),
        ("what are the risks?", SUSTAIN, "What are the risks of the NHS Sustainability Model?"),
        ("does it work for small teams?", EBCD, "Does experience-based co-design work for small teams?"),
        # an aspect on its own gets the topic after it
        ("what do the critics say?", HUDDLE, "What do the critics say about a safety huddle?"),
        ("what are the pitfalls?", MFI, "What are the pitfalls of the Model for Improvement?"),
        ("What are the common pitfalls?", MFI, "What are the common pitfalls of the Model for Improvement?"),
        ("what's the catch?", MFI, "What's the catch with the Model for Improvement?"),
        ("what's the evidence?", MFI, "What's the evidence for the Model for Improvement?"),
        (
            "ok, so what's the first thing I should do?",
            KOTTER,
            "What's the first thing I should do with Kotter's model?",
        ),
        # an aspect asked again of the same topic, and an aspect noun closing its phrase
        (
            "and the downsides?",
            [Turn("What are the benefits of a safety huddle?", "")],
            "What are the downsides of a safety huddle?",
        ),
        (
            "ok but how do I do the first step in practice?",
            KOTTER,
            "How do I do the first step of Kotter's model in practice?",
        ),
        # "that" before a particle, "it's", "is it worth the ...", a name inside the same clause
        ("where do teams usually mess that up?", HUDDLE, "Where do teams usually mess a safety huddle up?"),
        (
            "how do I stop that happening?",
            [Turn("What is the inverse care law?", "")],
            "How do I stop the inverse care law happening?",
        ),
        (
            "and what's the evidence it's safe?",
            [Turn("How does nurse-led discharge work?", "")],
            "What's the evidence nurse-led discharge is safe?",
        ),
        (
            "so is it worth the effort for a small practice?",
            [Turn("What's the point of a driver diagram?", "")],
            "Is a driver diagram worth the effort for a small practice?",
        ),
        ("what did Deming change about it?", PDSA, "What did Deming change about a PDSA cycle?"),
        (
            "and how much does our ICB get for it?",
            [Turn("What is Core20PLUS5?", "")],
            "How much does our ICB get for Core20PLUS5?",
        ),
        # an identification question: "it" is what the answer names
        (
            "ok, how do I install it?",
            [Turn("Which R package uses the Anhøj rules?", "qicharts2 - it applies them to run charts.")],
            "How do I install qicharts2?",
        ),
        # the earlier question's trailing "for" is not part of its topic
        (
            "how often should we redo it?",
            [Turn("What's the NHS Sustainability Model for?", "")],
            "How often should we redo the NHS Sustainability Model?",
        ),
        # "how do I ..." mid-question is not "what do I do?": the topic goes at the end
        (
            "and how do I work out that limit for the number of points I've got?",
            [Turn("What's the Anhøj shift rule?", "")],
            "How do I work out that limit for the number of points I've got with the Anhøj shift rule?",
        ),
        (
            "ok and when is it fine to recalculate the limits?",
            [Turn("How do I read an SPC chart?", "")],
            "When is it fine to recalculate the limits of an SPC chart?",
        ),
        # a situation, then the question: the question joins it rather than swapping words of it
        (
            "what about the ones who never get in touch?",
            [
                Turn(
                    "We're moving gout patients onto patient-initiated follow-up. What has to be in place?",
                    "",
                )
            ],
            "We're moving gout patients onto patient-initiated follow-up. What has to be in place, and what "
            "about the ones who never get in touch?",
        ),
        # "fine, but" opens a turn; "what does it take to" is an idiom whose "it" points at nothing,
        # and a verb closing with "properly" has left out its object, the topic
        (
            "fine, but what does it take to do properly?",
            [Turn("What is realist evaluation?", "An approach from Pawson and Tilley.")],
            "What does it take to do realist evaluation properly?",
        ),
        ("yes, and how do we run it well?", MFI, "How do we run the Model for Improvement well?"),
        # "why?" asks the reason for the earlier question
        ("why?", RUN, "Why does a run chart need 20 points?"),
        ("and why?", MFI, "What is the Model for Improvement, and why?"),
    ],
)
def test_followups_read_as_natural_standalone_questions(question, history, expected):
    assert is_followup(question), f"{question!r} should be seen as a follow-up"
    rewritten = rewrite_followup(question, history)
    assert rewritten == expected
    assert not re.search(r"[()\[\]]", rewritten), f"no bracketed tails: {rewritten!r}"
    assert rewritten[0].isupper() and rewritten.endswith("?") and "??" not in rewritten, rewritten


def test_a_request_reads_as_a_request():
    assert rewrite_followup("tell me more", HUDDLE) == "Tell me more about a safety huddle."


@pytest.mark.parametrize(
    "question",
    [
        "What is a run chart?",
        "How do I read a funnel plot comparing trusts?",
        "What evidence is there that PDSA works?",  # "that" as a conjunction
        "What is Lean and is it effective in hospitals?",  # "it" points inside the question
        "What is a run chart and how do I read it?",
        "Why do improvements decay after a project ends?",
        "Which one of the NHS tools fits a small team?",  # "one of": not a stand-in
        "Does the CQC use the same definition when it inspects clinics?",  # "it" after "when": the CQC
    ],
)
def test_self_contained_questions_pass_through_unchanged(question):
    assert not is_followup(question), f"{question!r} is self-contained"
    assert rewrite_followup(question, MFI) == question


def test_without_history_nothing_changes():
    assert rewrite_followup("what are the pitfalls?", []) == "what are the pitfalls?"


def test_a_chain_of_followups_keeps_the_original_topic():
    history = [Turn("What is the NHS Sustainability Model?", ""), Turn("How do we score it?", "")]
    assert (
        rewrite_followup("when should we do it?", history)
        == "When should we do the NHS Sustainability Model?"
    )


def test_a_followup_that_names_the_topic_is_left_alone():
    question = "And the Model for Improvement's pitfalls?"
    assert rewrite_followup(question, MFI) == question


def test_a_new_definition_question_after_an_opener_is_left_alone():
    assert rewrite_followup("And what is a run chart?", MFI) == "And what is a run chart?"


def test_the_answer_gives_the_topic_when_the_question_names_none():
    history = [Turn("Tell me more", "The Productive Ward is a programme for releasing time to care.")]
    assert rewrite_followup("who started it?", history) == "Who started the Productive Ward?"


@pytest.mark.parametrize(
    ("question", "phrase"),
    [
        ("What is the Model for Improvement?", "the Model for Improvement"),
        ("What's Kotter's model?", "Kotter's model"),
        ("How should I read a funnel plot?", "a funnel plot"),
        ("How does the Productive Ward work?", "the Productive Ward"),
        ("What does the CDC guide to infection prevention cover?", "the CDC guide to infection prevention"),
        ("What kind of study is the OHDSI protocol?", "the OHDSI protocol"),
        ("What is the OHDSI Keppra angioedema study about?", "the OHDSI Keppra angioedema study"),
        (
            "What is the FAA proposing for the Boeing 737 MAX?",
            "what the FAA is proposing for the Boeing 737 MAX",
        ),
        ("What are the pitfalls?", ""),
        # an object ends at its verb, a subject at what is said of it
        ("How do we make an EPR launch go smoothly?", "an EPR launch"),
        ("Is Lean worth trying on a surgical ward?", "Lean"),
        ("Why is NHS productivity so hard to measure?", "NHS productivity"),
        ("Is there evidence that huddles reduce falls?", "huddles"),
        ("Is there any evidence that safety huddles work?", "safety huddles"),
        # a count asked in the passive is about the number; "the point of X" is about X
        ("How many beds were closed in Wales last winter?", "the number of beds closed in Wales last winter"),
        ("What's the point of a safety huddle?", "a safety huddle"),
        # a name may qualify a noun or two before the verb; a capitalised word in -ing is in the name
        ("What did the Francis inquiry find at Mid Staffordshire?", "the Francis inquiry"),
        (
            "What did the 2019 NHS Improvement theatres report find?",
            "the 2019 NHS Improvement theatres report",
        ),
        ("What's the Sheffield Microsystem Coaching Academy?", "the Sheffield Microsystem Coaching Academy"),
        ("How does the CDC guide define outpatient care?", "the CDC guide"),
    ],
)
def test_key_phrase_is_the_topic_noun_phrase(question, phrase):
    assert key_phrase(question) == phrase


def test_topic_knows_plural_people_and_authored_things():
    ics, lewin, study = (
        topic_of(q)
        for q in (
            "What are integrated care systems?",
            "What is Lewin's model?",
            "What is the OHDSI study about?",
        )
    )
    assert ics is not None and ics.plural and not ics.authored, ics
    assert lewin is not None and lewin.person == "Lewin" and not lewin.plural, lewin
    assert study is not None and study.authored and not study.plural, study


@pytest.mark.parametrize(
    "question,history,expected",
    [
        # the last turn is a statement and "her" names nobody the topic holds
        (
            "so what should I be doing for her now?",
            [
                Turn(
                    "A nurse on my ward gave the wrong dose and HR are asking whether to suspend her.", "..."
                ),
                Turn(
                    "We did, and it looks like an honest slip on a chaotic shift", "Then console and learn."
                ),
            ],
            # the statement before it leans on the first turn too ("it"), so all three come in order
            "A nurse on my ward gave the wrong dose and HR are asking whether to suspend her. We did, and it "
            "looks like an honest slip on a chaotic shift. What should I be doing for her now?",
        ),
        # the earlier turn's only candidates are clauses ("has moved to ...", "I read them")
        (
            "and when do we recalculate them?",
            [Turn("Our integrated performance report has moved to SPC charts. How should I read them?", "")],
            "Our integrated performance report has moved to SPC charts. How should I read them? When do we "
            "recalculate them?",
        ),
    ],
)
def test_with_no_plausible_topic_the_follow_up_comes_after_the_earlier_turn_in_its_words(
    question, history, expected
):
    assert rewrite_followup(question, history) == expected


def test_an_answer_that_opens_with_a_count_or_a_yes_names_nothing():
    which = "Which measures should our pressure ulcer project track?"
    for answer in ("Three: an outcome, a process and a balancing measure.", "Yes, - all of them."):
        rewritten = rewrite_followup("how often should we plot them?", [Turn(which, answer)])
        assert not rewritten.lower().startswith(
            ("how often should we plot three", "how often should we plot yes")
        )
        assert "pressure ulcer" in rewritten, rewritten


def test_a_topic_is_a_noun_phrase_not_a_clause_cut_from_a_statement():
    assert plausible_topic(topic_of("How does the IHI Breakthrough Series work?"))
    assert plausible_topic(topic_of("Does a run chart need 20 points?"))  # "run" is a noun here
    assert not plausible_topic(topic_of("Which R package uses the Anhøj rules?"))  # "package uses the ..."
    assert not plausible_topic(topic_of("We did, and it looks like an honest slip on a chaotic shift."))
    assert not plausible_topic(topic_of("How should we communicate it?"))  # "we communicate"
    assert not plausible_topic(None)


def test_the_app_names_the_named_topic_of_the_earlier_turn():
    wizard = [Turn("What did the Worcestershire SPC wizard do?", "")]
    academy = [Turn("What's the Sheffield Microsystem Coaching Academy?", "")]
    assert (
        rewrite_followup("who hosted the live version of the app?", wizard)
        == "Who hosted the live version of the Worcestershire SPC wizard?"
    )
    assert rewrite_followup("ok, and who runs it day to day now?", academy) == (
        "Who runs the Sheffield Microsystem Coaching Academy day to day now?"
    )
    # "the model" after a question about a plot names another model; "the guide" its own head
    assert rewrite_followup("how do I fit the model in R?", FUNNEL) == "how do I fit the model in R?"
    assert (
        rewrite_followup("who wrote the guide?", GUIDE) == "Who wrote the CDC guide to infection prevention?"
    )
    # a noun that opens a longer phrase is not a stand-in ("the app store")
    assert rewrite_followup("is the app store listing free?", wizard) == "is the app store listing free?"
