"""Django for the plugin tests: configured here (not globally), a migrated SQLite file.

The settings are those of ``project/settings.py`` (the real-server tests run the same
module in subprocesses). Configuring happens when pytest collects this folder; other
test folders never import Django.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import django
import pytest
from django.conf import settings

from tests.services import redis_server  # noqa: F401  (fixture)

_DB_DIR = tempfile.mkdtemp(prefix="sio-django-")
DB_PATH = str(Path(_DB_DIR) / "db.sqlite3")

if not settings.configured:
    from tests.django_plugin.project import settings as project_settings

    values = {name: getattr(project_settings, name)
              for name in dir(project_settings) if name.isupper()}
    values["DATABASES"] = {"default": {**project_settings.DATABASES["default"],
                                       "NAME": DB_PATH}}
    values.pop("CHANNEL_LAYERS", None)  # in process: no layer unless a test sets one
    settings.configure(**values)
    django.setup()


@pytest.fixture(scope="session")
def sio_db(request: pytest.FixtureRequest) -> Iterator[str]:
    """The migrated test database (its path).

    When pytest-django happens to be installed it blocks database access in tests that
    do not use its own fixtures; these tests manage their database themselves.
    """
    from django.core.management import call_command

    blocker = None
    if request.config.pluginmanager.hasplugin("django"):
        blocker = request.getfixturevalue("django_db_blocker")
        blocker.unblock()
    call_command("migrate", verbosity=0, interactive=False)
    try:
        yield str(settings.DATABASES["default"]["NAME"])
    finally:
        if blocker is not None:
            blocker.restore()


@pytest.fixture
def users(sio_db: str) -> dict[str, object]:
    """alice (staff), bob; created once."""
    from django.contrib.auth.models import User

    alice, _ = User.objects.get_or_create(username="alice", defaults={"is_staff": True})
    bob, _ = User.objects.get_or_create(username="bob")
    return {"alice": alice, "bob": bob}
