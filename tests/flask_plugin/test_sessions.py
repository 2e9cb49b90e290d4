"""Flask-Login and the Flask session inside socket handlers, cookie and server-side."""

from __future__ import annotations

from pathlib import Path

import pytest

from sio_integrations.flask import SocketIO

from .apps import make_app, register_handlers


def _app(kind: str, tmp_path: Path) -> tuple[object, SocketIO]:
    sio = SocketIO()
    register_handlers(sio)
    store = tmp_path / "sessions" if kind == "server" else None
    app, _ = make_app(server_session_dir=store, socketio=sio)
    return app, sio


@pytest.mark.parametrize("kind", ["cookie", "server"])
def test_login_over_http_reaches_current_user(kind: str, tmp_path: Path) -> None:
    app, sio = _app(kind, tmp_path)
    http = app.test_client()
    assert http.get("/login/alice").status_code == 200
    client = sio.test_client(app, flask_test_client=http)
    who = client.emit("whoami", callback=True)
    assert who["user"] == "alice"
    assert who["sid"] == client.sids["/"]
    assert who["namespace"] == "/"
    assert who["event"] == "whoami"
    assert who["g_leak"] is False  # g belongs to one event, as to one request
    assert client.emit("secret", callback=True) == "secret for alice"
    client.close()


@pytest.mark.parametrize("kind", ["cookie", "server"])
def test_anonymous_socket(kind: str, tmp_path: Path) -> None:
    app, sio = _app(kind, tmp_path)
    client = sio.test_client(app)
    assert client.emit("whoami", callback=True)["user"] is None
    assert client.emit("soft_secret", callback=True) == {"error": "unauthenticated"}
    assert client.is_connected()
    # the default refuses by disconnecting the client from the namespace
    client.emit("secret")
    assert not client.is_connected()


def test_logout_with_server_side_session_is_seen_by_the_next_event(tmp_path: Path) -> None:
    app, sio = _app("server", tmp_path)
    http = app.test_client()
    http.get("/login/alice")
    client = sio.test_client(app, flask_test_client=http)
    assert client.emit("whoami", callback=True)["user"] == "alice"
    assert http.get("/logout").status_code == 200
    # same socket, no reconnection: current_user is evaluated for every event
    assert client.emit("whoami", callback=True)["user"] is None
    assert client.emit("soft_secret", callback=True) == {"error": "unauthenticated"}
    client.emit("secret")
    assert not client.is_connected()


def test_logout_with_cookie_session_reaches_the_sockets_of_that_browser(
        tmp_path: Path) -> None:
    app, sio = _app("cookie", tmp_path)
    alice_http, bob_http = app.test_client(), app.test_client()
    alice_http.get("/note/keep")  # so the session outlives the logout (cookie not deleted)
    alice_http.get("/login/alice")
    bob_http.get("/login/bob")
    alice = sio.test_client(app, flask_test_client=alice_http)
    alice_too = sio.test_client(app, flask_test_client=alice_http)  # a second tab
    bob = sio.test_client(app, flask_test_client=bob_http)
    assert alice.emit("whoami", callback=True)["user"] == "alice"
    # the logout response sets a new cookie; sockets holding the old one follow it
    assert alice_http.get("/logout").status_code == 200
    assert alice.emit("whoami", callback=True)["user"] is None
    assert alice_too.emit("whoami", callback=True)["user"] is None
    assert bob.emit("whoami", callback=True)["user"] == "bob"  # another browser
    # and a login in the same browser reaches the same open sockets
    alice_http.get("/login/alice")
    assert alice.emit("whoami", callback=True)["user"] == "alice"
    # bob's logout empties his session: the cookie is deleted, and his socket follows
    bob_http.get("/logout")
    assert bob.emit("whoami", callback=True)["user"] is None
    # but a browser without a cookie cannot be recognised: his next login is seen by
    # new connections only
    bob_http.get("/login/bob")
    assert bob.emit("whoami", callback=True)["user"] is None
    for client in (alice, alice_too, bob):
        client.close()


def test_cookie_session_follows_only_while_the_browser_cookie_matches(
        tmp_path: Path) -> None:
    """A browser that had no session cookie at the handshake cannot be recognised."""
    app, sio = _app("cookie", tmp_path)
    http = app.test_client()
    client = sio.test_client(app, flask_test_client=http)  # no cookie yet
    http.get("/login/alice")
    assert client.emit("whoami", callback=True)["user"] is None
    client.close()
    # a new connection (a page load, a reconnection) carries the new cookie
    again = sio.test_client(app, flask_test_client=http)
    assert again.emit("whoami", callback=True)["user"] == "alice"
    again.close()


def test_http_session_change_replaces_the_connection_copy(tmp_path: Path) -> None:
    app, sio = _app("cookie", tmp_path)
    http = app.test_client()
    http.get("/note/first")
    client = sio.test_client(app, flask_test_client=http)
    assert client.emit("count", callback=True) == 1  # the connection's own copy
    http.get("/note/second")
    # the browser's new session replaced the copy: the socket's counter is gone
    assert client.emit("read_note", callback=True) == "second"
    assert client.emit("count", callback=True) == 1
    client.close()


def test_deleted_user_is_anonymous_from_the_next_event(tmp_path: Path) -> None:
    from . import apps

    app, sio = _app("cookie", tmp_path)
    http = app.test_client()
    http.get("/login/bob")
    client = sio.test_client(app, flask_test_client=http)
    assert client.emit("whoami", callback=True)["user"] == "bob"
    apps.USERS.discard("bob")
    try:
        assert client.emit("whoami", callback=True)["user"] is None
    finally:
        apps.USERS.add("bob")
    client.close()


def test_server_side_session_is_shared_both_ways(tmp_path: Path) -> None:
    app, sio = _app("server", tmp_path)
    http = app.test_client()
    http.get("/login/alice")  # the browser now holds a session id
    client = sio.test_client(app, flask_test_client=http)
    assert client.emit("count", callback=True) == 1
    assert client.emit("count", callback=True) == 2
    # the socket's write went to the store: HTTP reads it
    assert http.get("/session").get_json()["counter"] == 2
    # and an HTTP write is read by the next event
    http.get("/note/from-http")
    assert client.emit("read_note", callback=True) == "from-http"
    # a second socket of the same browser shares it too
    other = sio.test_client(app, flask_test_client=http)
    assert other.emit("count", callback=True) == 3
    other.close()
    client.close()


def test_cookie_session_is_per_connection(tmp_path: Path) -> None:
    app, sio = _app("cookie", tmp_path)
    http = app.test_client()
    http.get("/note/before")
    client = sio.test_client(app, flask_test_client=http)
    assert client.emit("read_note", callback=True) == "before"  # read from the handshake
    assert client.emit("count", callback=True) == 1
    assert client.emit("count", callback=True) == 2  # kept for this connection
    other = sio.test_client(app, flask_test_client=http)
    assert other.emit("count", callback=True) == 1  # another connection has its own
    # HTTP sees neither: a socket cannot set the browser's cookie (and reading the
    # session over HTTP changes nothing, so the sockets keep their copies)
    assert http.get("/session").get_json()["counter"] is None
    assert client.emit("count", callback=True) == 3
    other.close()
    client.close()


def test_server_side_store_without_a_browser_session_keeps_a_connection_copy(
        tmp_path: Path) -> None:
    app, sio = _app("server", tmp_path)
    client = sio.test_client(app)  # no cookie at all
    assert client.emit("count", callback=True) == 1
    assert client.emit("count", callback=True) == 2
    store = list((tmp_path / "sessions").glob("*"))
    assert store == []  # nothing orphaned in the store (threshold=0: no count file)
    client.close()


def test_manage_session_false_with_cookie_sessions_is_read_only(tmp_path: Path) -> None:
    sio = SocketIO(manage_session=False)
    register_handlers(sio)
    app, _ = make_app(socketio=sio)
    client = sio.test_client(app)
    assert client.emit("count", callback=True) == 1
    # every event reopens the (unchanged) cookie: nothing is kept
    assert client.emit("count", callback=True) == 1
    client.close()
