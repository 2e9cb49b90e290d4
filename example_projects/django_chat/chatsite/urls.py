from __future__ import annotations

from django.urls import path

from chat import views

urlpatterns = [
    path("", views.index),
    path("login", views.login_view),
    path("logout", views.logout_view),
]
