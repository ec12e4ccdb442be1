from django.urls import path

from . import views

app_name = "app"

urlpatterns = [
    path("workspaces/", views.home, name="home"),
]
