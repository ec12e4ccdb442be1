"""The built-in rubric engine: deterministic, explained, weighted; and the engine setting."""

from decimal import Decimal

import pytest

from assessments.engine import EngineResult, QuestionSpec, RubricEngine, get_engine

Q1 = QuestionSpec(id=1, position=1, text="Tell us about a project.",
                  rubric=("names the goal", "explains own contribution", "describes the outcome"),
                  weight=Decimal("1"), max_points=10)
Q2 = QuestionSpec(id=2, position=2, text="How do you handle conflict?",
                  rubric=("listens to the other side", {"point": "seeks a compromise", "keywords": ["compromise", "agreement"]}),
                  weight=Decimal("3"), max_points=5)

GOOD_Q1 = "The goal was a faster checkout. My contribution: I rewrote the payment service. The outcome was 30% fewer drop-outs."
PARTIAL_Q1 = "Our goal was faster checkout, and I worked on it."


def score(answers, questions=(Q1, Q2)):
    return RubricEngine().score(questions=list(questions), answers=answers)


def test_full_coverage_scores_100_and_explains_each_point():
    result = score({1: GOOD_Q1, 2: "I listen to the other side first, then look for a compromise."})
    assert result.score_value == Decimal("100.00")
    assert (result.score_min, result.score_max, result.score_label) == (Decimal("0.00"), Decimal("100.00"), "Strong")
    q1, q2 = result.details["questions"]
    assert q1["covered"] == list(Q1.rubric) and q1["missed"] == []
    assert q1["points"] == "10.00"
    assert q2["covered"] == ["listens to the other side", "seeks a compromise"]
    by_point = {r["point"]: r for r in q1["rubric"]}
    assert by_point["explains own contribution"]["matched"] == ["contribution"]
    assert "Every rubric point was covered" in result.summary


def test_partial_coverage_is_weighted():
    result = score({1: PARTIAL_Q1, 2: "I listened carefully."})
    q1, q2 = result.details["questions"]
    assert q1["covered"] == ["names the goal"]
    assert q1["missed"] == ["explains own contribution", "describes the outcome"]
    assert q1["points"] == "3.33"
    assert q2["covered"] == ["listens to the other side"]  # stems: listened ~ listens
    assert q2["points"] == "2.50"
    # (1 * 1/3 + 3 * 1/2) / 4 * 100 = 45.83
    assert result.score_value == Decimal("45.83")
    assert result.score_label == "Fair"
    assert "Covered 2 of 5 rubric points across 2 questions" in result.summary
    assert "explains own contribution" in result.summary


def test_empty_answers_score_zero():
    result = score({})
    assert result.score_value == Decimal("0.00")
    assert result.score_label == "Weak"
    assert [t["answer"] for t in result.transcript] == ["", ""]


def test_deterministic_and_order_independent():
    answers = {1: PARTIAL_Q1, 2: "compromise and agreement"}
    first = score(answers)
    assert all(score(answers) == first for _ in range(5))
    assert score(answers, questions=(Q2, Q1)) == first


def test_transcript_has_questions_and_answers_in_order():
    result = score({2: "b", 1: "a"}, questions=(Q2, Q1))
    assert [(t["question_id"], t["question"], t["answer"]) for t in result.transcript] == [
        (1, Q1.text, "a"), (2, Q2.text, "b")
    ]


def test_keywords_override_and_accents_and_case_are_ignored():
    q = QuestionSpec(id=5, position=0, text="?", rubric=({"point": "Café knowledge", "keywords": ["café"]},))
    assert score({5: "I ran a CAFE for years"}, questions=[q]).score_value == Decimal("100.00")


def test_question_without_rubric_scores_by_length():
    q = QuestionSpec(id=9, position=0, text="Anything else?", rubric=(), max_points=10)
    assert score({9: "word " * 10}, questions=[q]).score_value == Decimal("50.00")
    assert score({9: "word " * 40}, questions=[q]).score_value == Decimal("100.00")
    assert "no rubric" in score({9: "x"}, questions=[q]).details["questions"][0]["method"]


def test_no_questions():
    result = score({}, questions=[])
    assert result.score_value == Decimal("0.00")
    assert result.score_label == "No questions"


def test_rubric_point_verbs_do_not_count_as_coverage():
    # "explains", "describes", "names" are instructions to the scorer, not content.
    result = score({1: "I will name, explain and describe things."}, questions=[Q1])
    assert result.details["questions"][0]["covered"] == []


class FixedEngine:
    def score(self, *, questions, answers):
        return EngineResult(Decimal("7"), Decimal("0"), Decimal("10"), "Fixed", "fixed", [], {"engine": "fixed"})


def test_engine_is_chosen_by_setting(settings):
    assert isinstance(get_engine(), RubricEngine)
    settings.ASSESSMENT_ENGINE = "tests.assessments.test_engine.FixedEngine"
    assert isinstance(get_engine(), FixedEngine)


@pytest.mark.django_db
def test_the_candidate_flow_uses_the_configured_engine(settings):
    from assessments.models import Status
    from assessments.services import assessment_start, assessment_submit_answers
    from tests.factories import AssessmentFactory, QuestionFactory

    settings.ASSESSMENT_ENGINE = "tests.assessments.test_engine.FixedEngine"
    assessment = AssessmentFactory(status=Status.INVITED)
    q = QuestionFactory(package=assessment.package)
    assessment_start(assessment=assessment)
    done = assessment_submit_answers(assessment=assessment, answers={q.id: "anything"})
    assert (done.score_value, done.score_max, done.score_label) == (Decimal("7.00"), Decimal("10.00"), "Fixed")
