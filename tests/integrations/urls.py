"""URLs for the intake tests: the shared intake mounted for the test provider, like an ATS's views."""

from django.urls import path

from integrations.webhooks import webhook_view

urlpatterns = [
    path("testats/webhook", webhook_view(provider_name="testats", kind="partner")),
]
