from __future__ import annotations

from django.urls import path

from .chat import views

urlpatterns = [
    path("login", views.login_view),
    path("session", views.session_view),
    path("broadcast", views.broadcast_view),
    path("cluster", views.cluster_view),
]
