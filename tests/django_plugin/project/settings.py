"""Settings of the Django project the plugin tests run (in process and as real servers).

Environment: ``SIO_TEST_DB`` (SQLite file), ``SIO_TEST_REDIS`` (a redis URL: channels_redis
layer), ``SIO_TEST_MODE`` (``channels``: the default; ``asgi``: plain ASGI Django).
"""

from __future__ import annotations

import os
import tempfile

SECRET_KEY = "sio-integrations-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "sio_integrations.django",
    "tests.django_plugin.project.chat",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "tests.django_plugin.project.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SIO_TEST_DB")
        or os.path.join(tempfile.gettempdir(), "sio-django-tests.sqlite3"),
        "OPTIONS": {"timeout": 20},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only
ASGI_APPLICATION = "tests.django_plugin.project.asgi.application"
SOCKETIO: dict[str, object] = {}
if os.environ.get("SIO_TEST_REDIS"):
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [os.environ["SIO_TEST_REDIS"]]},
        }
    }
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"sio_integrations": {"handlers": ["console"], "level": "WARNING"}},
}
