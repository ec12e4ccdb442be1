"""The candidate's pages at /i/<token>/: landing + consent, questions, thank-you. Thin: access is
decided by a selector, changes by services. Closed or unknown links get a friendly page with no
details of the interview (the link may have been forwarded or guessed)."""

import functools

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from . import services
from .candidate_texts import SUPPORTED, candidate_locale
from .exceptions import AssessmentError, AssessmentErrorCode
from .models import Status
from .selectors import (
    CandidateAccess,
    assessment_candidate_access,
    assessment_get_by_token,
    assessment_question_specs,
)

_CLOSED = {
    # state: (HTTP status, headline, explanation)
    "unknown": (404, _("This link does not work"), _("Please check that you copied the whole link from your invitation.")),
    "expired": (410, _("This interview link has expired"), _("The deadline for this interview has passed. If you "
                "still want to take part, please contact the recruiter who invited you.")),
    "cancelled": (410, _("This interview was cancelled"), _("The company has cancelled this interview. You don't "
                  "need to do anything.")),
    "completed": (410, _("You have already completed this interview"), _("Thank you, your answers were received.")),
    "unavailable": (410, _("This interview is not available"), _("Please contact the recruiter who invited you.")),
}


class ConsentForm(forms.Form):
    consent = forms.BooleanField(
        required=True,
        label=_("I have read the privacy notice and agree that my answers are processed for this application."),
        error_messages={"required": _("Please confirm that you agree before starting.")},
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
                error_messages={"required": _("Please answer this question.")},
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
                           {"headline": headline, "text": text, "assessment": access.assessment}, status=status))


def _after_refusal(request: HttpRequest, token: str) -> HttpResponse:
    """A service refused the step because the assessment changed under the candidate's feet."""
    access = assessment_candidate_access(token=token)
    if access.state == "completed":
        return redirect("candidate:done", token=token)
    if access.is_open:
        return redirect("candidate:landing", token=token)
    return _closed(request, access)


def _steps(current: int) -> list[dict]:
    names = [_("Welcome"), _("Questions"), _("Done")]
    return [{"number": i, "name": n, "current": i == current, "done": i < current} for i, n in enumerate(names, 1)]


LANGUAGE_SESSION_KEY = "candidate_language:{}"


def in_candidate_language(view):
    """Run the view in the candidate's language and time zone: ``?lang=xx`` (the switcher, kept in
    the session for this interview), else the order's / package's / tenant's language. A link that
    does not resolve uses the browser's language."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, token: str, *args, **kwargs):
        assessment = assessment_get_by_token(token=token)
        if assessment is None:
            with translation.override(translation.get_language_from_request(request)):
                return view(request, token, *args, **kwargs)
        key = LANGUAGE_SESSION_KEY.format(assessment.pk)
        chosen = request.GET.get("lang", "")
        if chosen in SUPPORTED:
            request.session[key] = chosen
        with candidate_locale(assessment=assessment, language=request.session.get(key, "")) as code:
            request.candidate_language = code
            response = view(request, token, *args, **kwargs)
        response.setdefault("Content-Language", code)
        return response

    return wrapper


def _switcher(request: HttpRequest) -> list[dict]:
    current = getattr(request, "candidate_language", "en")
    return [{"code": code, "name": name, "current": code == current} for code, name in settings.LANGUAGES]


@never_cache
@require_http_methods(["GET", "POST"])
@in_candidate_language
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
        "languages": _switcher(request),
    }, status=400 if form.is_bound else 200))


@never_cache
@require_http_methods(["GET", "POST"])
@in_candidate_language
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
        "question_count": len(specs), "answered": answered, "languages": _switcher(request),
    }, status=400 if form.is_bound else 200))


@never_cache
@require_http_methods(["GET"])
@in_candidate_language
def done(request: HttpRequest, token: str) -> HttpResponse:
    access = assessment_candidate_access(token=token)
    if access.state != "completed":
        if access.is_open:
            return redirect("candidate:landing", token=token)
        return _closed(request, access)
    return _private(render(request, "assessments/candidate/done.html", {
        "tenant_name": access.assessment.tenant.name, "steps": _steps(3), "assessment": access.assessment,
        "return_url": _return_url(access.assessment),
    }))


def _return_url(assessment) -> str:
    """Where the ordering party asked the candidate to be sent back to when done (the ATS's
    application flow): ``options["return_url"]``, an http(s) URL checked by whoever ordered."""
    url = str((assessment.options or {}).get("return_url") or "")
    return url if url.startswith(("https://", "http://")) else ""
