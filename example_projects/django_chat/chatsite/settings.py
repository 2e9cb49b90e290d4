"""Settings of the Django chat example (a demo: fixed secret key, SQLite in a temp folder)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "django-chat-example-not-secret"  # a demo: never reuse this key
DEBUG = os.environ.get("DJANGO_CHAT_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "sio_integrations.django",  # Socket.IO: settings, checks, sockets.py discovery
    "chat",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "chatsite.urls"
ASGI_APPLICATION = "chatsite.asgi.application"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
}]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        # outside the source tree; kept between runs so logins survive a restart
        "NAME": os.environ.get("DJANGO_CHAT_DB")
        or os.path.join(tempfile.gettempdir(), "sio-django-chat.sqlite3"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
LOGIN_URL = "/login"
USE_TZ = True

STATIC_URL = "/static/"
# the official client from npm (npm install --no-package-lock in this folder)
STATICFILES_DIRS = [("socket.io-client", BASE_DIR / "node_modules" / "socket.io-client" / "dist")]

# Socket.IO: every server option is a key; the defaults suit this example. With
# CHANNEL_LAYERS (channels_redis) several workers would share rooms and emits.
SOCKETIO = {"PING_INTERVAL": 10}
