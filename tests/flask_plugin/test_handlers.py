"""Handlers, namespaces, rooms, emits and errors through the in-process test client."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask, g, request

from sio_integrations.flask import (
    ConnectionRefusedError,  # noqa: A004
    Namespace,
    SocketIO,
    call,
    close_room,
    disconnect,
    emit,
    join_room,
    leave_room,
    rooms,
    send,
)


def _app(**options: Any) -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "s"
    return app, SocketIO(app, **options)


def test_arguments_acknowledgements_and_send() -> None:
    app, sio = _app()

    @sio.on("add")
    def add(a: int, b: int) -> int:
        return a + b

    @sio.on("pair")
    def pair() -> tuple[str, int]:
        return "two", 2

    @sio.on("message")
    def message(data: Any) -> None:
        send({"echo": data})

    @sio.event
    def multi(x: Any) -> None:
        emit("multi", x, [x], {"x": x})

    client = sio.test_client(app)
    assert client.emit("add", 2, 3, callback=True) == 5
    assert client.emit("pair", callback=True) == ["two", 2]
    client.send("hi")
    client.emit("multi", 1)
    assert client.get_received() == [
        {"name": "message", "args": {"echo": "hi"}, "namespace": "/"},
        {"name": "multi", "args": [1, [1], {"x": 1}], "namespace": "/"},
    ]
    assert client.get_received() == []
    client.close()


def test_connect_auth_refusal_and_disconnect_reason() -> None:
    app, sio = _app()
    seen: list[Any] = []

    @sio.on("connect")
    def connect(auth: Any) -> Any:
        seen.append(("connect", auth, request.sid))
        if auth == {"mode": "no"}:
            return False
        if auth == {"mode": "nope"}:
            raise ConnectionRefusedError("go away", {"code": 7})
        return None

    @sio.on("disconnect")
    def gone(reason: str) -> None:
        seen.append(("disconnect", reason, request.sid))

    refused = sio.test_client(app, auth={"mode": "no"})
    assert not refused.is_connected()
    assert refused.connect_error["/"] == {"message": "Connection rejected by server"}
    rejected = sio.test_client(app, auth={"mode": "nope"})
    assert rejected.connect_error["/"] == {"message": "go away", "data": {"code": 7}}
    client = sio.test_client(app, auth={"token": 1})
    assert client.is_connected()
    sid = client.sids["/"]
    client.disconnect()
    assert ("connect", {"token": 1}, sid) in seen
    assert seen[-1] == ("disconnect", "client disconnect", sid)
    assert [s for s in seen if s[0] == "disconnect"] == [seen[-1]]  # refused: no disconnect


def test_legacy_signatures_connect_without_auth_disconnect_without_reason() -> None:
    app, sio = _app()
    calls: list[str] = []

    @sio.on("connect")
    def connect() -> None:
        calls.append("connect")

    @sio.on("disconnect")
    def disconnect_() -> None:
        calls.append("disconnect")

    client = sio.test_client(app, auth={"x": 1})
    client.disconnect()
    assert calls == ["connect", "disconnect"]


def test_namespaces_and_class_based_namespace() -> None:
    app, sio = _app()

    class Chat(Namespace):
        def on_connect(self, auth: Any = None) -> None:
            g.where = "chat"

        def on_hello(self, name: str) -> str:
            self.emit("greeting", f"hello {name}", to=request.sid)
            return f"{request.namespace}:{name}"

    sio.on_namespace(Chat("/chat"))

    @sio.on("hello", namespace="/other")
    def other(name: str) -> str:
        return "other " + name

    client = sio.test_client(app, namespace="/chat")
    assert client.is_connected("/chat") and not client.is_connected()
    assert client.emit("hello", "ann", namespace="/chat", callback=True) == "/chat:ann"
    assert client.get_received("/chat") == [
        {"name": "greeting", "args": ["hello ann"], "namespace": "/chat"}]
    client.connect("/other")
    assert client.emit("hello", "bob", namespace="/other", callback=True) == "other bob"
    client.connect("/nowhere")
    assert client.connect_error["/nowhere"] == {"message": "Invalid namespace"}
    client.close()


def test_catch_all_event_and_namespace() -> None:
    app, sio = _app(namespaces="*")
    got: list[Any] = []

    @sio.on("*")
    def any_event(event: str, *args: Any) -> str:
        got.append((event, args))
        return "caught " + event

    @sio.on("*", namespace="*")
    def anywhere(event: str, *args: Any) -> str:
        return f"{request.namespace} {event}"

    @sio.on("exact")
    def exact() -> str:
        return "exact"

    client = sio.test_client(app)
    assert client.emit("exact", callback=True) == "exact"
    assert client.emit("foo", 1, 2, callback=True) == "caught foo"
    assert got == [("foo", (1, 2))]
    client.connect("/dyn")
    assert client.emit("bar", namespace="/dyn", callback=True) == "/dyn bar"
    client.close()


def test_error_handlers() -> None:
    app, sio = _app()
    errors: list[Any] = []

    @sio.on("boom")
    def boom() -> None:
        raise ValueError("bad")

    @sio.on("boom", namespace="/ns")
    def boom_ns() -> None:
        raise KeyError("k")

    @sio.on_error()
    def on_error(exc: Exception) -> Any:
        errors.append(("root", type(exc).__name__, request.event["message"]))
        return {"error": str(exc)}

    @sio.on_error_default
    def default(exc: Exception) -> Any:
        errors.append(("default", type(exc).__name__, request.namespace))
        return "default"

    client = sio.test_client(app)
    assert client.emit("boom", callback=True) == {"error": "bad"}
    client.connect("/ns")
    assert client.emit("boom", namespace="/ns", callback=True) == "default"
    assert errors == [("root", "ValueError", "boom"), ("default", "KeyError", "/ns")]
    client.close()


def test_failing_connect_with_an_error_handler_is_refused() -> None:
    app, sio = _app()

    @sio.on("connect")
    def connect() -> None:
        raise RuntimeError("db down")

    @sio.on_error_default
    def default(exc: Exception) -> str:
        return "handled"

    client = sio.test_client(app)
    assert not client.is_connected()


def test_unhandled_error_is_logged_and_not_acknowledged(caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    app, sio = _app()

    @sio.on("boom")
    def boom() -> None:
        raise ValueError("unhandled")

    @sio.on("ok")
    def ok() -> str:
        return "still fine"

    client = sio.test_client(app)
    client.emit("boom")  # returns once handled; the connection is unaffected
    assert client.emit("ok", callback=True) == "still fine"
    assert "unhandled" in caplog.text
    client.close()


def test_rooms_broadcast_include_self_and_close_room() -> None:
    app, sio = _app()

    @sio.on("join")
    def join(room: str) -> list[str]:
        join_room(room)
        return sorted(rooms())

    @sio.on("leave")
    def leave(room: str) -> None:
        leave_room(room)

    @sio.on("say")
    def say(room: str, text: str) -> None:
        emit("said", text, to=room, include_self=False)

    @sio.on("shout")
    def shout(text: str) -> None:
        emit("shout", text, broadcast=True)

    @sio.on("close")
    def close(room: str) -> None:
        close_room(room)

    a, b, c = (sio.test_client(app) for _ in range(3))
    assert a.emit("join", "r", callback=True) == sorted([a.sids["/"], "r"])
    b.emit("join", "r")
    a.emit("say", "r", "hi")
    assert b.get_received() == [{"name": "said", "args": ["hi"], "namespace": "/"}]
    assert a.get_received() == [] and c.get_received() == []
    c.emit("shout", "all")
    for client in (a, b, c):
        assert client.get_received() == [{"name": "shout", "args": ["all"], "namespace": "/"}]
    b.emit("leave", "r")
    c.emit("say", "r", "again")
    assert a.get_received() == [{"name": "said", "args": ["again"], "namespace": "/"}]
    assert b.get_received() == []
    a.emit("close", "r")
    c.emit("say", "r", "nobody")
    assert a.get_received() == []
    for client in (a, b, c):
        client.close()


def test_emit_from_http_view_background_thread_and_callbacks() -> None:
    app, sio = _app()
    acked: list[Any] = []

    @app.route("/notify/<text>")
    def notify(text: str) -> str:
        sio.emit("news", text)
        return "sent"

    @app.route("/legacy/<text>")
    def legacy(text: str) -> str:
        from flask import current_app

        # Flask-SocketIO code reaches the extension through app.extensions
        current_app.extensions["socketio"].emit("news", text)
        return "sent"

    @app.route("/context/<sid>")
    def context_emit(sid: str) -> str:
        emit("direct", "to you", to=sid)  # the context function, with an explicit target
        return "sent"

    @sio.on("ask")
    def ask() -> None:
        def on_ack(*args: Any) -> None:
            acked.append((args, request.sid))  # runs in the asking client's context

        emit("question", "?", callback=on_ack)

    client = sio.test_client(app)
    http = app.test_client()
    assert http.get("/notify/hello").data == b"sent"
    assert http.get(f"/context/{client.sids['/']}").data == b"sent"
    assert http.get("/legacy/old-style").data == b"sent"
    thread = threading.Thread(target=lambda: sio.emit("news", "from a thread"))
    thread.start()
    thread.join(10)
    client.emit("ask")
    received = client.get_received()
    assert received[:4] == [
        {"name": "news", "args": ["hello"], "namespace": "/"},
        {"name": "direct", "args": ["to you"], "namespace": "/"},
        {"name": "news", "args": ["old-style"], "namespace": "/"},
        {"name": "news", "args": ["from a thread"], "namespace": "/"},
    ]
    assert received[4] == {"name": "question", "args": ["?"], "namespace": "/"}
    client.sync()  # the test client acknowledged the question; its ack has arrived
    assert acked == [((), client.sids["/"])]
    with app.test_request_context():
        with pytest.raises(RuntimeError, match="to=... or broadcast=True"):
            emit("nowhere")
    client.close()


def test_call_waits_for_the_client_acknowledgement() -> None:
    app, sio = _app()

    @sio.on("check")
    def check() -> Any:
        return call("ping", "x", timeout=5)

    client = sio.test_client(app)
    # the test client acknowledges server calls with no arguments
    assert client.emit("check", callback=True) == []
    assert client.get_received() == [{"name": "ping", "args": ["x"], "namespace": "/"}]
    client.close()


def test_server_side_disconnect() -> None:
    app, sio = _app()
    reasons: list[str] = []

    @sio.on("kick")
    def kick() -> None:
        disconnect()

    @sio.on("disconnect")
    def gone(reason: str) -> None:
        reasons.append(reason)

    client = sio.test_client(app)
    assert client.emit("kick", callback=True) is None
    assert not client.is_connected()
    assert reasons == ["server disconnect"]


def test_teardown_runs_after_every_event() -> None:
    app, sio = _app()
    torn: list[Any] = []

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        if getattr(request, "sid", None):
            torn.append(request.event["message"])

    @sio.on("work")
    def work() -> str:
        return "done"

    client = sio.test_client(app)
    client.emit("work", callback=True)
    client.emit("work")
    assert torn == ["work", "work"]  # one context per handled event
    client.close()


def test_one_extension_serves_two_apps() -> None:
    sio = SocketIO()
    apps = []
    for name in ("one", "two"):
        app = Flask(name)
        app.config["SECRET_KEY"] = "s"
        app.config["SOCKETIO_PING_TIMEOUT"] = 7 if name == "one" else 9
        sio.init_app(app)
        apps.append(app)

    @sio.on("which")  # registered after init_app: reaches both
    def which() -> str:
        from flask import current_app

        return str(current_app.name)

    one, two = (sio.test_client(app) for app in apps)
    assert one.emit("which", callback=True) == "one"
    assert two.emit("which", callback=True) == "two"
    assert sio.get_server(apps[0]).options.ping_timeout == 7
    assert sio.get_server(apps[1]).options.ping_timeout == 9
    assert apps[0].extensions["socketio"].server is sio.get_server(apps[0])
    with pytest.raises(RuntimeError, match="several applications"):
        sio.emit("x")
    with apps[1].app_context():
        sio.emit("news", "two only")
    assert two.get_received() == [{"name": "news", "args": ["two only"], "namespace": "/"}]
    assert one.get_received() == []
    with pytest.raises(RuntimeError, match="already initialised"):
        sio.init_app(apps[0])
    one.close()
    two.close()


def test_handshake_query_headers_and_typed_helpers() -> None:
    from flask_login import LoginManager, UserMixin, login_user

    from sio_integrations.flask import current_handshake, current_namespace, current_sid

    app, sio = _app()
    login = LoginManager(app)

    class User(UserMixin):  # type: ignore[misc]
        id = "carol"

    login.user_loader(lambda name: User() if name == "carol" else None)

    @app.route("/in")
    def log_in() -> str:
        login_user(User())
        return "in"

    @sio.on("inspect")
    def inspect() -> dict[str, Any]:
        shake = current_handshake()
        return {
            "token": request.args.get("token"),
            "header": request.headers.get("X-Test"),
            "shake_header": shake.headers.get("x-test"),
            "shake_query": shake.query.get("token"),
            "auth": shake.extra["auth"],
            "user": shake.user.id if shake.user.is_authenticated else None,
            "session_user": shake.session.get("_user_id"),
            "sid_ok": current_sid() == request.sid,
            "namespace": current_namespace(),
        }

    http = app.test_client()
    http.get("/in")
    client = sio.test_client(app, query_string="token=abc", headers={"X-Test": "yes"},
                             auth={"k": "v"}, flask_test_client=http)
    assert client.emit("inspect", callback=True) == {
        "token": "abc", "header": "yes", "shake_header": "yes", "shake_query": ["abc"],
        "auth": {"k": "v"}, "user": "carol", "session_user": "carol", "sid_ok": True,
        "namespace": "/"}
    with app.test_request_context(), pytest.raises(RuntimeError, match="Socket.IO handlers"):
        current_handshake()
    client.close()


@pytest.mark.parametrize("serializer", ["default", "msgpack"])
def test_binary_both_ways(serializer: str) -> None:
    app, sio = _app(serializer=serializer)

    @sio.on("upload")
    def upload(name: str, blob: bytes) -> dict[str, Any]:
        emit("echo", {"name": name, "data": blob[::-1]})
        return {"size": len(blob), "first": blob[:1]}

    client = sio.test_client(app)
    assert client.emit("upload", "f", b"\x00\x01\xff", callback=True) == {
        "size": 3, "first": b"\x00"}
    assert client.get_received() == [
        {"name": "echo", "args": [{"name": "f", "data": b"\xff\x01\x00"}], "namespace": "/"}]
    client.close()


def test_refused_test_client_can_connect_again() -> None:
    app, sio = _app()
    allow: list[bool] = [False]

    @sio.on("connect")
    def connect() -> bool:
        return allow[0]

    @sio.on("hi")
    def hi() -> str:
        return "hello"

    client = sio.test_client(app)
    assert not client.is_connected() and client.eio_sid is None  # session closed
    allow[0] = True
    client.connect()
    assert client.emit("hi", callback=True) == "hello"
    client.close()
    assert client.eio_sid is None


def test_before_event_hooks() -> None:
    app, sio = _app()
    seen: list[Any] = []

    @sio.before_event
    def record() -> None:
        seen.append((request.event["message"], request.namespace))

    @sio.before_event
    def gate() -> Any:
        message = request.event["message"]
        if message == "connect" and request.args.get("deny"):
            return False
        if message == "forbidden":
            return {"error": "forbidden"}
        if message == "explode":
            raise ValueError("hook failed")
        return None

    @sio.on("forbidden")
    def forbidden() -> str:
        seen.append("handler ran")
        return "no"

    @sio.on("allowed")
    def allowed() -> str:
        return "yes"

    @sio.on("explode")
    def explode() -> str:
        return "unreachable"

    @sio.on_error_default
    def error(exc: Exception) -> str:
        return f"error: {exc}"

    denied = sio.test_client(app, query_string="deny=1")
    assert not denied.is_connected()
    client = sio.test_client(app)  # no connect handler: the hooks still run
    assert client.emit("allowed", callback=True) == "yes"
    assert client.emit("forbidden", callback=True) == {"error": "forbidden"}
    assert client.emit("explode", callback=True) == "error: hook failed"
    assert "handler ran" not in seen
    assert seen[:3] == [("connect", "/"), ("connect", "/"), ("allowed", "/")]
    client.disconnect()
    assert seen[-1] == ("explode", "/")  # not run for disconnect
