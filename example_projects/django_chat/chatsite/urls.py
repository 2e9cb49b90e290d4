from __future__ import annotations

from chat import views
from django.urls import path

urlpatterns = [
    path("", views.index),
    path("login", views.login_view),
    path("logout", views.logout_view),
]
