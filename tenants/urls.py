from django.urls import path

from . import branding_views, views

app_name = "app"

urlpatterns = [
    path("workspaces/", views.home, name="home"),
    path("branding/", branding_views.branding_edit_view, name="branding"),
    path("branding/theme.css", branding_views.branding_preview_theme_view, name="branding-preview-theme"),
    # Public (candidate pages load them): the logo's URL carries its hash, the theme its version.
    path("branding/<slug:slug>/logo", branding_views.branding_logo_view, name="branding-logo"),
    path("branding/<slug:slug>/theme.css", branding_views.branding_theme_view, name="branding-theme"),
]
