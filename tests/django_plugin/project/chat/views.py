"""HTTP side of the test project: a login, the session, a view that emits."""

from __future__ import annotations

import json

from django.contrib.auth import login
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from sio_integrations.django import emit


@csrf_exempt
def login_view(request: HttpRequest) -> HttpResponse:
    """POST username: logs that user in (created on first use); sets a session value."""
    username = request.POST["username"]
    user, _ = User.objects.get_or_create(username=username)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session["greeting"] = f"hello {username}"
    return JsonResponse({"user": username})


def session_view(request: HttpRequest) -> HttpResponse:
    """GET ?key=: a value of the caller's session (written by a socket handler?)."""
    return JsonResponse({"value": request.session.get(request.GET["key"])})


@csrf_exempt
def broadcast_view(request: HttpRequest) -> HttpResponse:
    """POST room, text: a synchronous view emitting to a room with one call."""
    emit("news", {"text": request.POST["text"], "from": "view"}, to=request.POST["room"])
    return HttpResponse(json.dumps({"ok": True}), content_type="application/json")


async def cluster_view(request: HttpRequest) -> HttpResponse:
    """GET: this node's view of the cluster (listening? how many other nodes heard?)."""
    from sio_integrations.django import sio

    manager = sio.server.manager
    if not hasattr(manager, "health"):
        return JsonResponse({"connected": None, "nodes": 0})
    await sio.server.startup()  # the manager starts with the first connection otherwise
    health = manager.health()
    return JsonResponse({"connected": health.connected, "nodes": health.nodes})
