"""settings.SOCKETIO: every server option, lazy, refreshed by override_settings; checks."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import checks
from django.test import override_settings

from sio_integrations.django import sio
from sio_integrations.django.checks import check_settings
from sio_integrations.django.origins import DjangoOriginPolicy, origin_allowed
from sio_integrations.options import ServerOptions
from sio_integrations.runtime._async.server import AsyncServer
from sio_integrations.runtime._sync.server import Server


def ids(messages: list[checks.CheckMessage]) -> list[str]:
    return [m.id for m in messages]


def test_default_server_is_asgi_with_django_origin_policy() -> None:
    server = sio.server
    assert isinstance(server, AsyncServer)
    assert isinstance(server.options.cors_allowed_origins, DjangoOriginPolicy)
    assert check_settings() == []


def test_every_server_option_is_a_setting() -> None:
    # a value for every option that differs from its default, upper-case keys
    values: dict[str, Any] = {"PING_INTERVAL": 7, "PING_TIMEOUT": 3, "MAX_HTTP_BUFFER_SIZE": 5,
                              "ALWAYS_CONNECT": True, "TRANSPORTS": ["websocket"],
                              "CORS_ALLOWED_ORIGINS": ["http://a.example"],
                              "CORS_CREDENTIALS": False, "NAMESPACES": "*"}
    with override_settings(SOCKETIO=values):
        server = sio.server
        assert server.options.ping_interval == 7
        assert server.options.ping_timeout == 3
        assert server.options.max_http_buffer_size == 5
        assert server.options.transports == ["websocket"]
        assert server.options.cors_allowed_origins == ["http://a.example"]
        assert server.always_connect is True
        assert check_settings() == []
    # settings are read again after the override ends
    assert sio.server.options.ping_interval == ServerOptions().ping_interval
    # the keys come from the options themselves (no hand-written list)
    from sio_integrations.django.conf import option_keys

    assert set(option_keys().values()) == set(ServerOptions.option_names())


def test_override_settings_rebuilds_keeping_handlers() -> None:
    before = sio.server
    with override_settings(SOCKETIO={"PING_INTERVAL": 9}):
        during = sio.server
        assert during is not before
        assert "whoami" in during.handlers["/"]  # handlers of sockets.py re-applied
        assert during.namespace_handlers["/admin"].server is during
    assert sio.server is not during


def test_synchronous_mode_builds_server() -> None:
    with override_settings(SOCKETIO={"ASYNC_MODE": "threading"}):
        assert isinstance(sio.server, Server)
        assert "whoami" in sio.server.handlers["/"]
        # the test project's Namespace class is for the asyncio server
        assert ids(check_settings()) == ["sio_integrations.W004"]
        assert "/admin" not in sio.server.namespace_handlers


@pytest.mark.parametrize(("value", "expected"), [
    ([1, 2], "sio_integrations.E001"),
    ({"PING_INTERVALL": 5}, "sio_integrations.E002"),
    ({"PING_INTERVAL": "soon"}, "sio_integrations.E003"),
    ({"TRANSPORTS": ["carrier-pigeon"]}, "sio_integrations.E003"),
    ({"CORS_ALLOWED_ORIGINS": "*"}, "sio_integrations.E004"),
    ({"CHANNEL_LAYER": "missing"}, "sio_integrations.E006"),
    ({"PATH": ""}, "sio_integrations.E007"),
])
def test_checks(value: Any, expected: str) -> None:
    with override_settings(SOCKETIO=value):
        assert expected in ids(checks.run_checks(tags=["sio_integrations"]))


def test_unknown_key_hint() -> None:
    with override_settings(SOCKETIO={"PING_INTERVALL": 5}):
        (error,) = check_settings()
        assert "PING_INTERVAL" in error.hint


def test_star_origin_without_credentials_is_fine() -> None:
    with override_settings(SOCKETIO={"CORS_ALLOWED_ORIGINS": "*", "CORS_CREDENTIALS": False}):
        assert check_settings() == []


def test_in_memory_layer_warns() -> None:
    layers = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    with override_settings(CHANNEL_LAYERS=layers):
        assert ids(check_settings()) == ["sio_integrations.W001"]
        with override_settings(SOCKETIO={"CHANNEL_LAYER": None}):
            assert check_settings() == []


def test_allowed_hosts_star_warns_in_production() -> None:
    with override_settings(ALLOWED_HOSTS=["*"], DEBUG=False):
        assert ids(check_settings()) == ["sio_integrations.W002"]


def test_origin_policy_follows_allowed_hosts_and_cors_headers() -> None:
    assert origin_allowed("http://testserver")
    assert origin_allowed("https://localhost:8443")
    assert not origin_allowed("http://evil.example")
    assert not origin_allowed("null")
    with override_settings(ALLOWED_HOSTS=[".example.org"]):
        assert origin_allowed("http://chat.example.org")
        assert not origin_allowed("http://testserver")
    apps = ["corsheaders", *__import__("django.conf").conf.settings.INSTALLED_APPS]
    with override_settings(INSTALLED_APPS=apps,
                           CORS_ALLOWED_ORIGINS=["https://app.example.com"],
                           CORS_ALLOWED_ORIGIN_REGEXES=[r"^https://\w+\.partner\.net$"]):
        assert origin_allowed("https://app.example.com")
        assert origin_allowed("https://x.partner.net")
        assert not origin_allowed("https://app.example.com.evil")
        assert origin_allowed("http://testserver")  # ALLOWED_HOSTS still counts
        with override_settings(CORS_ALLOW_ALL_ORIGINS=True, CORS_ALLOW_CREDENTIALS=True):
            assert "sio_integrations.E004" in ids(check_settings())


def test_channels_missing_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec

    def without_channels(name: str, *args: Any) -> Any:
        return None if name == "channels" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", without_channels)
    layers = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    with override_settings(CHANNEL_LAYERS=layers):
        (error,) = check_settings()
        assert error.id == "sio_integrations.E005"
        assert "sio-integrations[django]" in error.hint


def test_default_connect_handlers_never_shadow_the_projects() -> None:
    from sio_integrations.django import ProjectServer

    def handler(*args: Any) -> None:
        return None

    project = ProjectServer()
    project.on("ev", handler, namespace="/chat")
    # a namespace without connect handler records its connections with a default one
    assert "connect" in project.server.handlers["/chat"]
    assert "/" not in project.server.handlers  # nothing registered there: nothing added

    project = ProjectServer()
    project.on("connect", handler, namespace="*")
    project.on("ev", handler, namespace="/chat")
    # the catch-all connect stays in charge of /chat
    assert "connect" not in project.server.handlers["/chat"]
