"""Login (any lowercase name, password ``chat``; the user is created on first login) and
the chat page."""

from __future__ import annotations

import re

from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

USERNAME = re.compile(r"^[a-z0-9_]{1,20}$")
PASSWORD = "chat"


def login_view(request: HttpRequest) -> HttpResponse:
    error = None
    if request.method == "POST":
        username = request.POST.get("username", "")
        password = request.POST.get("password", "")
        if USERNAME.match(username) and password == PASSWORD and not User.objects.filter(
                username=username).exists():
            User.objects.create_user(username, password=PASSWORD)
        user = authenticate(request, username=username, password=password)
        if user is not None and USERNAME.match(username):
            login(request, user)
            return redirect("/")
        error = "Wrong name or password (any lowercase name, password: chat)."
    return render(request, "chat/login.html", {"error": error})


def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("/login")


@login_required
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "chat/index.html")
