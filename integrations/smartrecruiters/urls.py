"""SmartRecruiters' calls to Stagehook, mounted at /smartrecruiters/ (each URL registered with
SmartRecruiters by ``manage.py smartrecruiters_configure``), and the own-app pages (the callback is
the redirect URI a company registers on its app)."""

from django.urls import path

from . import own_app_views, views

app_name = "smartrecruiters"

urlpatterns = [
    path("integration", views.integration, name="integration"),
    path("integrations/companies/<str:company_id>", views.disconnect, name="disconnect"),
    path("oauth/token", views.token, name="token"),
    path("packages", views.packages, name="packages"),
    path("packages/orders", views.orders, name="orders"),
    path("packages/inline/orders", views.inline_orders, name="inline-orders"),
    path("packages/<str:package_id>", views.package, name="package"),
    path("webhooks", views.webhooks, name="webhooks"),
    # A company's own app (authorization code): the tenant admin's pages.
    path("own-app/connect", own_app_views.own_app_connect, name="own-app-connect"),
    path("oauth/callback", own_app_views.oauth_callback, name="oauth-callback"),
    path("own-app/<int:connection_id>/disconnect", own_app_views.own_app_disconnect, name="own-app-disconnect"),
]
