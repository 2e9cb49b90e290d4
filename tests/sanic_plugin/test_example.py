"""example_projects/sanic_chat follows the example page contract."""

from __future__ import annotations

from .contract import check_chat, check_pages, login, run_example


def test_sanic_chat_example() -> None:
    with run_example("sanic_chat") as base:
        ann = check_pages(base)
        check_chat(base, ann, login(base, "bob"))
