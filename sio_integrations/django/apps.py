"""The Django app (label ``sio_integrations``): checks, autodiscovery, settings reload."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig

#: settings whose change rebuilds the project's server (override_settings in tests)
WATCHED_SETTINGS = frozenset({
    "SOCKETIO", "CHANNEL_LAYERS", "ALLOWED_HOSTS", "DEBUG", "INSTALLED_APPS",
    "CORS_ALLOWED_ORIGINS", "CORS_ALLOW_ALL_ORIGINS", "CORS_ALLOWED_ORIGIN_REGEXES",
    "CORS_ALLOW_CREDENTIALS", "SESSION_ENGINE", "SESSION_COOKIE_NAME",
})


class SocketIOConfig(AppConfig):  # type: ignore[misc]
    """``INSTALLED_APPS += ["sio_integrations.django"]``."""

    name = "sio_integrations.django"
    label = "sio_integrations"
    verbose_name = "Socket.IO"
    default = True

    def ready(self) -> None:
        from django.core.signals import setting_changed

        from . import checks  # noqa: F401  (registers the system checks)

        setting_changed.connect(_setting_changed, dispatch_uid="sio_integrations.settings")
        autodiscover()


def autodiscover() -> None:
    """Import the ``sockets`` module (``SOCKETIO["AUTODISCOVER"]``) of every installed app."""
    from django.utils.module_loading import autodiscover_modules

    from .conf import django_setting

    module = django_setting("AUTODISCOVER")
    if module:
        autodiscover_modules(str(module))


def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in WATCHED_SETTINGS:
        from . import scaleout
        from .server import sio

        sio.reset()
        scaleout.reset()
