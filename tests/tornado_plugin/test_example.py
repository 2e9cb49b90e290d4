"""example_projects/tornado_chat follows the example page contract (its forms carry
Tornado's ``_xsrf`` token; the Socket.IO endpoint needs none)."""

from __future__ import annotations

import re

import requests

from tests.sanic_plugin.contract import check_chat, check_pages, login, run_example


def xsrf(http: requests.Session, page: str) -> dict[str, str]:
    found = re.search(r'name="_xsrf" value="([^"]+)"', page)
    assert found is not None, "the login form has no _xsrf field"
    return {"_xsrf": found.group(1)}


def test_tornado_chat_example() -> None:
    with run_example("tornado_chat") as base:
        ann = check_pages(base, xsrf)
        check_chat(base, ann, login(base, "bob", extra=xsrf))
