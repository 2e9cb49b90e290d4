"""System checks of the Socket.IO settings (``manage.py check``; ids ``sio_integrations.*``).

E001 ``SOCKETIO`` is not a dict           E002 unknown ``SOCKETIO`` key
E003 invalid value (wrong type/range)     E004 any origin allowed with credentials
E005 Channels needed but not installed    E006 ``CHANNEL_LAYER`` names no layer
E007 invalid host key (``PATH``, ...)       E008 an ``ASYNC_MODE`` Django cannot serve
W001 in-memory channel layer (one process only)
W002 ``ALLOWED_HOSTS = ["*"]`` lets any site open sockets with the user's cookies
W003 channel layer ignored by a synchronous server
W004 a namespace class that does not fit ``ASYNC_MODE`` (not registered)
"""

from __future__ import annotations

import difflib
import importlib.util
from collections.abc import Mapping
from typing import Any

from django.core import checks

from ..errors import ConfigurationError
from ..options import ASYNC_MODES_SYNC
from . import conf

TAG = "sio_integrations"
ID = "sio_integrations."


@checks.register(TAG)  # type: ignore[untyped-decorator]
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Validate ``settings.SOCKETIO`` and the settings it depends on."""
    try:
        raw = conf.raw_settings()
    except ConfigurationError as exc:
        return [checks.Error(str(exc), hint="SOCKETIO = {'PING_INTERVAL': 25, ...}",
                             id=ID + "E001")]
    errors: list[checks.CheckMessage] = []
    errors += _unknown_keys(raw)
    if errors:
        return errors
    errors += _host_keys(raw)
    try:
        options = conf.server_options()
    except (ConfigurationError, TypeError, ValueError) as exc:
        errors.append(checks.Error(str(exc), id=ID + "E003"))
        return errors
    if options.async_mode not in ("asgi", *ASYNC_MODES_SYNC):
        errors.append(checks.Error(
            f"SOCKETIO['ASYNC_MODE'] {options.async_mode!r} cannot serve Django",
            hint="'asgi' (Channels or ASGI Django, the default) or a WSGI mode: "
                 + ", ".join(repr(m) for m in ASYNC_MODES_SYNC), id=ID + "E008"))
    errors += _origins(options.cors_allowed_origins, options.cors_credentials,
                       explicit="cors_allowed_origins" in conf.option_values())
    errors += _channels(conf.is_async_mode(options.async_mode))
    errors += _namespaces(conf.is_async_mode(options.async_mode))
    return errors


def _namespaces(is_async: bool) -> list[checks.CheckMessage]:
    from .server import sio

    return [checks.Warning(
        f"{type(n).__name__}({n.namespace!r}) is for the "
        f"{'synchronous' if is_async else 'asyncio'} server and is not registered",
        hint=("use sio_integrations.django.Namespace with ASGI/Channels, "
              "sio_integrations.Namespace with a synchronous ASYNC_MODE"),
        id=ID + "W004") for n in sio.mismatched_namespaces(is_async)]


def _unknown_keys(raw: Mapping[str, Any]) -> list[checks.CheckMessage]:
    known = list(conf.option_keys()) + list(conf.DJANGO_KEYS)
    errors: list[checks.CheckMessage] = []
    for key in raw:
        if not isinstance(key, str) or (key not in conf.DJANGO_KEYS
                                        and key.upper() not in conf.option_keys()):
            close = difflib.get_close_matches(str(key).upper(), known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "see docs/django.md"
            errors.append(checks.Error(f"unknown SOCKETIO key {key!r}", hint=hint,
                                       id=ID + "E002"))
    return errors


def _host_keys(raw: Mapping[str, Any]) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for key in ("PATH", "CHANNEL_LAYER_GROUP"):
        value = raw.get(key, conf.DJANGO_KEYS[key])
        if not isinstance(value, str) or not value.strip("/"):
            errors.append(checks.Error(f"SOCKETIO[{key!r}] must be a non-empty string, "
                                       f"got {value!r}", id=ID + "E007"))
    for key in ("CHANNEL_LAYER", "AUTODISCOVER"):
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            errors.append(checks.Error(f"SOCKETIO[{key!r}] must be a string or None, "
                                       f"got {value!r}", id=ID + "E007"))
    return errors


def _origins(policy: Any, credentials: bool, *, explicit: bool) -> list[checks.CheckMessage]:
    from django.conf import settings

    from .origins import corsheaders_credentials, corsheaders_installed

    errors: list[checks.CheckMessage] = []
    any_origin = policy == "*" or (isinstance(policy, (list, tuple, set)) and "*" in policy)
    if explicit and any_origin and credentials:
        errors.append(checks.Error(
            "SOCKETIO allows any origin ('*') with credentials: any web site could use "
            "Socket.IO as the logged-in user",
            hint="list the allowed origins, or set 'CORS_CREDENTIALS': False",
            id=ID + "E004"))
    if explicit:
        return errors
    if corsheaders_installed():
        from corsheaders.conf import conf as cors

        if cors.CORS_ALLOW_ALL_ORIGINS and corsheaders_credentials():
            errors.append(checks.Error(
                "CORS_ALLOW_ALL_ORIGINS with CORS_ALLOW_CREDENTIALS also opens Socket.IO to "
                "any web site as the logged-in user",
                hint="use CORS_ALLOWED_ORIGINS, or set SOCKETIO['CORS_ALLOWED_ORIGINS']",
                id=ID + "E004"))
    if "*" in settings.ALLOWED_HOSTS and not settings.DEBUG:
        errors.append(checks.Warning(
            "ALLOWED_HOSTS contains '*': Socket.IO accepts every Origin, so any web site "
            "can open a socket with the visitor's session cookie",
            hint="list your hosts in ALLOWED_HOSTS or set SOCKETIO['CORS_ALLOWED_ORIGINS']",
            id=ID + "W002"))
    return errors


def _channels(is_async: bool) -> list[checks.CheckMessage]:
    from django.apps import apps
    from django.conf import settings

    errors: list[checks.CheckMessage] = []
    wants_channels = bool(
        getattr(settings, "CHANNEL_LAYERS", None)
        or apps.is_installed("channels") or apps.is_installed("daphne"))
    if wants_channels and importlib.util.find_spec("channels") is None:
        errors.append(checks.Error(
            "the Socket.IO consumers are routed through Channels, which is not installed",
            hint="pip install 'sio-integrations[django]'", id=ID + "E005"))
        return errors
    from .scaleout import channel_layer_alias

    alias = channel_layer_alias()
    if alias is None:
        return errors
    layers = getattr(settings, "CHANNEL_LAYERS", None) or {}
    if alias not in layers:
        errors.append(checks.Error(
            f"SOCKETIO['CHANNEL_LAYER'] is {alias!r}, which CHANNEL_LAYERS does not define",
            hint="name a configured layer, or None to keep Socket.IO in one process",
            id=ID + "E006"))
        return errors
    if not is_async:
        errors.append(checks.Warning(
            "the channel layer connects ASGI servers only; this synchronous server ignores it",
            hint="set SOCKETIO['MESSAGE_QUEUE'] (a Redis URL) to connect WSGI workers",
            id=ID + "W003"))
    elif str(layers[alias].get("BACKEND", "")).endswith("InMemoryChannelLayer"):
        errors.append(checks.Warning(
            f"channel layer {alias!r} is in memory: Socket.IO messages do not leave this "
            "process", hint="use channels_redis with several workers", id=ID + "W001"))
    return errors
