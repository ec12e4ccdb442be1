"""SmartRecruiters' calls to Stagehook, mounted at /smartrecruiters/ (each URL registered with
SmartRecruiters by ``manage.py smartrecruiters_configure``)."""

from django.urls import path

from . import views

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
]
