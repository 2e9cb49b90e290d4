"""Pydantic validation of event payloads and serialisation of results."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from sio_integrations.exceptions import ConnectionRefusedError  # noqa: A004
from sio_integrations.fastapi import SocketIORouter
from sio_integrations.fastapi.testing import SocketIOTestClient

from .chatapp import make_app


def test_valid_model_payload_reaches_the_handler_as_a_model() -> None:
    app, _, recorder = make_app()
    with TestClient(app) as http, SocketIOTestClient(http, auth={"token": "t-alice"}) as sio:
        assert sio.call("say", {"room": "r", "text": "hi"}) == [
            {"room": "r", "delivered": True}]
    said = [value for name, value in recorder.calls if name == "say"]
    assert len(said) == 1 and said[0].text == "hi" and type(said[0]).__name__ == "Message"


def test_invalid_payload_with_ack_gets_an_error_ack_and_skips_the_handler() -> None:
    app, _, recorder = make_app()
    with TestClient(app) as http, SocketIOTestClient(http, auth={"token": "t-alice"}) as sio:
        answer = sio.call("say", {"room": "", "text": "hi"})
        assert answer[0]["error"] == "validation_error"
        assert answer[0]["event"] == "say"
        [error] = answer[0]["detail"]
        assert error["loc"] == [0, "message", "room"]
        assert error["type"] == "string_too_short"
        # coerced and checked types of several arguments
        assert sio.call("add", "2", 3) == [5]
        bad = sio.call("add", "two", 3)[0]
        assert [e["loc"] for e in bad["detail"]] == [[0, "a"]]
        missing = sio.call("add", 1)[0]
        assert missing["detail"] == [{"type": "missing", "loc": [1, "b"],
                                      "msg": "Missing argument"}]
        extra = sio.call("add", 1, 2, 3)[0]
        assert extra["detail"][0]["type"] == "extra_arguments"
    assert not any(name == "say" for name, _ in recorder.calls)
    assert [v for name, v in recorder.calls if name == "add"] == [(2, 3)]


def test_invalid_payload_without_ack_gets_an_error_event() -> None:
    app, _, recorder = make_app()
    with TestClient(app) as http, SocketIOTestClient(http, auth={"token": "t-alice"}) as sio:
        sio.emit("say", "not an object")
        [error] = sio.wait_for("error")
        assert error["error"] == "validation_error" and error["event"] == "say"
        assert error["detail"][0]["loc"] == [0, "message"]
        # a valid event without ack gets no error event
        sio.emit("add", 1, 1)
        sio.call("add", 0, 0)
        assert sio.get_received() == []
    assert not any(name == "say" for name, _ in recorder.calls)


def test_ack_or_not_is_seen_right_when_clients_alternate() -> None:
    # the server only updates its "ack requested" marker when it changes between events
    app, _, _ = make_app()
    with TestClient(app) as http, SocketIOTestClient(http, auth={"token": "t-alice"}) as sio:
        for pattern in ("AAEEAEAE", "EAAEEE"):
            for kind in pattern:
                if kind == "A":
                    assert sio.call("say", "bad")[0]["error"] == "validation_error"
                else:
                    sio.emit("say", "bad")
                    [error] = sio.wait_for("error")
                    assert error["event"] == "say"
            assert sio.get_received() == []


class Auth(BaseModel):
    name: str = Field(min_length=2)


class Point(BaseModel):
    x: float
    y: float


def test_connect_auth_model_is_validated_and_results_are_serialised() -> None:
    router = SocketIORouter()
    seen: list[Any] = []

    @router.on("connect")
    async def connect(sid: str, environ: Any, auth: Auth) -> None:
        seen.append(auth)

    @router.on("move", namespace="/game")
    async def move(sid: str, to: Point, speeds: list[int]) -> tuple[Point, int]:
        return Point(x=to.x * 2, y=to.y), sum(speeds)

    @router.on("anything")
    async def anything(sid: str, *args: Annotated[Any, "untouched"]) -> list[Any]:
        return list(args)

    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as http:
        with pytest.raises(ConnectionRefusedError) as refused:
            SocketIOTestClient(http, auth={"name": "x"}).connect()
        assert refused.value.error_args["data"]["status"] == 422
        assert refused.value.error_args["data"]["detail"][0]["loc"] == [0, "auth", "name"]
        with SocketIOTestClient(http, auth={"name": "ann"}) as sio:
            assert seen == [Auth(name="ann")]
            assert sio.call("anything", 1, "two", None) == [[1, "two", None]]
        with SocketIOTestClient(http, namespace="/game") as game:
            # several return values: several ack arguments, models as JSON objects
            assert game.call("move", {"x": 1, "y": 2}, [1, 2]) == [{"x": 2.0, "y": 2.0}, 3]
