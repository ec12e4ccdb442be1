"""Scoring engines. ``settings.ASSESSMENT_ENGINE`` names the class; the built-in
:class:`RubricEngine` is deterministic and explainable: every point it gives can be traced to the
rubric points an answer covered.

An engine receives plain data (no models) and returns an :class:`EngineResult`, so a remote AI
engine can be plugged in without touching the candidate flow.
"""

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class QuestionSpec:
    id: int
    position: int
    text: str
    rubric: tuple = ()
    weight: Decimal = Decimal(1)
    max_points: int = 10


@dataclass(frozen=True)
class EngineResult:
    score_value: Decimal
    score_min: Decimal
    score_max: Decimal
    score_label: str
    summary: str
    transcript: list = field(default_factory=list)
    details: dict = field(default_factory=dict)


class Engine(Protocol):
    def score(self, *, questions: Sequence[QuestionSpec], answers: Mapping[int, str]) -> EngineResult: ...


def get_engine() -> Engine:
    return import_string(settings.ASSESSMENT_ENGINE)()


_STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have how i if in into is it its
    of on or our should so than that the their them then there these they this those to was we were what when
    where which who why will with would you your about also any each own very just more most other such only
    names name explains explain describes describe mentions mention gives give shows show""".split()
)
# Longest first, so "ations" wins over "s".
_SUFFIXES = ("ations", "ation", "ments", "ment", "ings", "ing", "ies", "ied", "ers", "er", "ed", "es", "ly", "s")
_WORD_RE = re.compile(r"\w+", re.UNICODE)

MIN_WORDS_WITHOUT_RUBRIC = 20
PERCENT = Decimal("0.01")


def _stem(word: str) -> str:
    # Deliberately crude and predictable: a recruiter must be able to see why "described" matched
    # "describes". Never shorten below three characters.
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(_normalize(text))


def _terms(text: str) -> list[str]:
    """Significant stems of ``text``, in order, without duplicates."""
    seen: dict[str, None] = {}
    for word in _words(text):
        if len(word) < 3 or word in _STOPWORDS or word.isdigit():
            continue
        seen.setdefault(_stem(word), None)
    return list(seen)


def _rubric_point(item) -> tuple[str, list[str]]:
    """A rubric point is a string, or ``{"point": str, "keywords": [str, ...]}`` to name the terms."""
    if isinstance(item, Mapping):
        label = str(item.get("point") or item.get("text") or "")
        keywords = item.get("keywords") or []
        terms = [t for kw in keywords for t in _terms(str(kw))] if keywords else _terms(label)
        return label, list(dict.fromkeys(terms))
    label = str(item)
    return label, _terms(label)


def _label_for(score: Decimal) -> str:
    if score >= 80:
        return "Strong"
    if score >= 60:
        return "Good"
    if score >= 40:
        return "Fair"
    return "Weak"


class RubricEngine:
    """Term coverage of each rubric point.

    A rubric point counts as covered when at least half of its significant terms (at least one)
    occur in the answer, compared as crude stems. A question earns ``max_points`` times the share of
    its points covered; the overall score is the weight-averaged share of points, 0-100. A question
    without a rubric earns points for a substantive answer (``MIN_WORDS_WITHOUT_RUBRIC`` words).
    """

    name = "rubric-v1"
    coverage_threshold = Decimal("0.5")

    def score(self, *, questions: Sequence[QuestionSpec], answers: Mapping[int, str]) -> EngineResult:
        transcript = []
        per_question = []
        weighted_sum = Decimal(0)
        weight_total = Decimal(0)
        covered_total = 0
        points_total = 0

        for q in sorted(questions, key=lambda q: (q.position, q.id)):
            answer = (answers.get(q.id) or "").strip()
            transcript.append({"question_id": q.id, "position": q.position, "question": q.text, "answer": answer})
            answer_terms = set(_terms(answer))
            covered, missed, explained = [], [], []
            for item in q.rubric or ():
                label, terms = _rubric_point(item)
                if not terms:
                    continue
                hits = [t for t in terms if t in answer_terms]
                ok = len(hits) >= 1 and Decimal(len(hits)) / Decimal(len(terms)) >= self.coverage_threshold
                (covered if ok else missed).append(label)
                explained.append({"point": label, "terms": terms, "matched": hits, "covered": ok})
            rubric_size = len(covered) + len(missed)
            if rubric_size:
                share = Decimal(len(covered)) / Decimal(rubric_size)
                method = "rubric coverage"
            else:
                share = min(Decimal(1), Decimal(len(_words(answer))) / Decimal(MIN_WORDS_WITHOUT_RUBRIC))
                method = f"no rubric: answer length (full points from {MIN_WORDS_WITHOUT_RUBRIC} words)"
            max_points = Decimal(q.max_points)
            points = (max_points * share).quantize(PERCENT, rounding=ROUND_HALF_UP)
            weight = Decimal(q.weight)
            weighted_sum += weight * share
            weight_total += weight
            covered_total += len(covered)
            points_total += rubric_size
            per_question.append(
                {
                    "question_id": q.id,
                    "position": q.position,
                    "question": q.text,
                    "weight": str(weight),
                    "max_points": q.max_points,
                    "points": str(points),
                    "percent": str((share * 100).quantize(PERCENT, rounding=ROUND_HALF_UP)),
                    "method": method,
                    "covered": covered,
                    "missed": missed,
                    "rubric": explained,
                }
            )

        if weight_total > 0:
            score = (weighted_sum / weight_total * 100).quantize(PERCENT, rounding=ROUND_HALF_UP)
        else:
            score = Decimal("0.00")
        label = _label_for(score) if questions else "No questions"
        summary = self._summary(score=score, label=label, per_question=per_question,
                                covered_total=covered_total, points_total=points_total)
        return EngineResult(
            score_value=score,
            score_min=Decimal("0.00"),
            score_max=Decimal("100.00"),
            score_label=label,
            summary=summary,
            transcript=transcript,
            details={
                "engine": self.name,
                "method": "weighted share of rubric points covered; a point is covered when at least half "
                "of its terms appear in the answer",
                "questions": per_question,
            },
        )

    @staticmethod
    def _summary(*, score, label, per_question, covered_total, points_total) -> str:
        if not per_question:
            return "The package has no questions; nothing was scored."
        parts = [f"{label} ({score} of 100)."]
        if points_total:
            parts.append(
                f"Covered {covered_total} of {points_total} rubric points across {len(per_question)} questions."
            )
        missed = [p for q in per_question for p in q["missed"]]
        if missed:
            shown = "; ".join(missed[:5]) + ("; ..." if len(missed) > 5 else "")
            parts.append(f"Not covered: {shown}.")
        elif points_total:
            parts.append("Every rubric point was covered.")
        return " ".join(parts)
