"""The candidate's pages at /i/<token>/: landing + consent, questions, thank-you. Thin: access is
decided by a selector, changes by services. Closed or unknown links get a friendly page with no
details of the interview (the link may have been forwarded or guessed)."""

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from . import services
from .exceptions import AssessmentError, AssessmentErrorCode
from .models import Status
from .selectors import CandidateAccess, assessment_candidate_access, assessment_question_specs

_CLOSED = {
    # state: (HTTP status, headline, explanation)
    "unknown": (404, "This link does not work", "Please check that you copied the whole link from your invitation."),
    "expired": (410, "This interview link has expired", "The deadline for this interview has passed. If you "
                "still want to take part, please contact the recruiter who invited you."),
    "cancelled": (410, "This interview was cancelled", "The company has cancelled this interview. You don't need "
                  "to do anything."),
    "completed": (410, "You have already completed this interview", "Thank you, your answers were received."),
    "unavailable": (410, "This interview is not available", "Please contact the recruiter who invited you."),
}


class ConsentForm(forms.Form):
    consent = forms.BooleanField(
        required=True,
        label="I have read the privacy notice and agree that my answers are processed for this application.",
        error_messages={"required": "Please confirm that you agree before starting."},
    )


class AnswersForm(forms.Form):
    def __init__(self, *args, questions, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = questions
        for number, question in enumerate(questions, start=1):
            self.fields[f"q_{question.id}"] = forms.CharField(
                label=question.text,
                max_length=services.MAX_ANSWER_CHARS,
                widget=forms.Textarea(attrs={"rows": 6}),
                error_messages={"required": "Please answer this question."},
            )
            self.fields[f"q_{question.id}"].number = number

    def answers(self) -> dict[int, str]:
        return {q.id: self.cleaned_data[f"q_{q.id}"] for q in self.questions}


def _private(response: HttpResponse) -> HttpResponse:
    # The token is in the URL: keep it out of other sites' Referer headers, caches and search
    # engines. Not "no-referrer": browsers then send "Origin: null" and CSRF rejects the forms.
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _closed(request: HttpRequest, access: CandidateAccess) -> HttpResponse:
    status, headline, text = _CLOSED[access.state]
    return _private(render(request, "assessments/candidate/unavailable.html",
                           {"headline": headline, "text": text}, status=status))


def _after_refusal(request: HttpRequest, token: str) -> HttpResponse:
    """A service refused the step because the assessment changed under the candidate's feet."""
    access = assessment_candidate_access(token=token)
    if access.state == "completed":
        return redirect("candidate:done", token=token)
    if access.is_open:
        return redirect("candidate:landing", token=token)
    return _closed(request, access)


def _steps(current: int) -> list[dict]:
    names = ["Welcome", "Questions", "Done"]
    return [{"number": i, "name": n, "current": i == current, "done": i < current} for i, n in enumerate(names, 1)]


@never_cache
@require_http_methods(["GET", "POST"])
def landing(request: HttpRequest, token: str) -> HttpResponse:
    access = assessment_candidate_access(token=token)
    if not access.is_open:
        return _closed(request, access)
    assessment = access.assessment
    if assessment.status == Status.IN_PROGRESS:
        return redirect("candidate:questions", token=token)
    form = ConsentForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            services.assessment_start(assessment=assessment)
        except AssessmentError:
            return _after_refusal(request, token)
        return redirect("candidate:questions", token=token)
    questions = assessment_question_specs(assessment=assessment)
    return _private(render(request, "assessments/candidate/landing.html", {
        "assessment": assessment, "form": form, "question_count": len(questions), "steps": _steps(1),
    }, status=400 if form.is_bound else 200))


@never_cache
@require_http_methods(["GET", "POST"])
def questions(request: HttpRequest, token: str) -> HttpResponse:
    access = assessment_candidate_access(token=token)
    if access.state == "completed":
        return redirect("candidate:done", token=token)
    if not access.is_open:
        return _closed(request, access)
    assessment = access.assessment
    if assessment.status != Status.IN_PROGRESS:
        return redirect("candidate:landing", token=token)
    specs = assessment_question_specs(assessment=assessment)
    form = AnswersForm(request.POST if request.method == "POST" else None, questions=specs)
    error = ""
    if form.is_bound and form.is_valid():
        try:
            services.assessment_submit_answers(assessment=assessment, answers=form.answers())
        except AssessmentError as exc:
            if exc.code != AssessmentErrorCode.INVALID_ANSWERS:
                # Expired, cancelled or completed meanwhile (a double submit): show where it stands.
                return _after_refusal(request, token)
            error = exc.message
        else:
            return redirect("candidate:done", token=token)
    answered = sum(1 for q in specs if (form.data.get(f"q_{q.id}") or "").strip()) if form.is_bound else 0
    return _private(render(request, "assessments/candidate/questions.html", {
        "assessment": assessment, "form": form, "error": error, "steps": _steps(2),
        "question_count": len(specs), "answered": answered,
    }, status=400 if form.is_bound else 200))


@never_cache
@require_http_methods(["GET"])
def done(request: HttpRequest, token: str) -> HttpResponse:
    access = assessment_candidate_access(token=token)
    if access.state != "completed":
        if access.is_open:
            return redirect("candidate:landing", token=token)
        return _closed(request, access)
    return _private(render(request, "assessments/candidate/done.html", {
        "tenant_name": access.assessment.tenant.name, "steps": _steps(3),
        "return_url": _return_url(access.assessment),
    }))


def _return_url(assessment) -> str:
    """Where the ordering party asked the candidate to be sent back to when done (the ATS's
    application flow): ``options["return_url"]``, an http(s) URL checked by whoever ordered."""
    url = str((assessment.options or {}).get("return_url") or "")
    return url if url.startswith(("https://", "http://")) else ""
