"""Candidate pages, mounted at /i/."""

from django.urls import path

from . import candidate_views

app_name = "candidate"

urlpatterns = [
    path("<str:token>/", candidate_views.landing, name="landing"),
    path("<str:token>/questions/", candidate_views.questions, name="questions"),
    path("<str:token>/done/", candidate_views.done, name="done"),
]
