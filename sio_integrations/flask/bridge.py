"""The opening request of a connection -> a Flask request context for every event.

Handlers run inside ``app.request_context(environ)`` built from the Engine.IO handshake
(the first long-polling GET or the websocket upgrade), pushed afresh for every event, so
``flask.request`` (plus ``request.sid``, ``request.namespace``, ``request.event``),
``flask.session``, ``g`` and Flask-Login's ``current_user`` work as in a view, and
``current_user`` is loaded again on every event.

Session semantics (see docs/flask.md):

* **shared** (the default for server-side sessions such as Flask-Session): every event
  opens the session from the store, so changes made over HTTP (a logout) are seen by the
  next event; changes made by a handler are saved back to the store.
* **per connection** (the default for Flask's cookie session, whose cookie a socket can
  neither re-read nor set): the session is read from the handshake's cookie once, and the
  handlers of that connection share one copy that they may change; HTTP never sees it.
  When an HTTP response gives the same browser a new cookie session (a login, a logout),
  the copy is replaced by it (:func:`follow_http_session`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from flask import Flask, request
from flask.ctx import RequestContext
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from werkzeug.http import parse_cookie

from ..handshake import Handshake


@dataclasses.dataclass(kw_only=True, eq=False)
class SocketRecord:
    """What the plugin keeps per connected socket (one sid in one namespace)."""

    sid: str
    namespace: str
    environ: Mapping[str, Any]
    #: what the client sent with its CONNECT (``io({auth})``)
    auth: Any = None
    #: the connection's own session (per-connection semantics), once it exists
    session: SessionMixin | None = None
    #: the session cookie the browser holds as far as we know: the handshake's, then the
    #: one set by the browser's HTTP responses (see follow_http_session)
    cookie: str | None = None


def per_connection_sessions(app: Flask, manage_session: bool | None) -> bool:
    """Whether the sessions of ``app``'s sockets are per-connection copies."""
    if manage_session is not None:
        return manage_session
    return isinstance(app.session_interface, SecureCookieSessionInterface)


@contextmanager
def event_context(app: Flask, record: SocketRecord, event: str | None, args: tuple[Any, ...],
                  *, per_connection: bool) -> Iterator[None]:
    """Run a handler of ``record``'s socket inside app and request contexts.

    After the handler, a changed session is saved where it belongs (see the module
    docstring). Teardown functions run when the context is popped, as after a request.
    """
    # a copy: Flask writes into the environ (werkzeug.request), and events of one socket
    # may run in different threads
    # record.session exists for per-connection sessions after the first event, and for
    # shared ones the browser cannot own (see _keep_session)
    started = record.session
    ctx = RequestContext(app, dict(record.environ), session=started)
    ctx.push()
    error: BaseException | None = None
    try:
        req: Any = request._get_current_object()  # type: ignore[attr-defined]
        req.sid = record.sid
        req.namespace = record.namespace
        req.event = {"message": event, "args": args}
        yield
        _keep_session(app, record, ctx.session, started, per_connection=per_connection)
    except BaseException as exc:
        error = exc
        raise
    finally:
        ctx.pop(error)


def _keep_session(app: Flask, record: SocketRecord, session: SessionMixin | None,
                  started: SessionMixin | None, *, per_connection: bool) -> None:
    if session is None:
        return
    if per_connection or started is not None:
        if record.session is started:  # else an HTTP response replaced it meanwhile: it wins
            record.session = session
        return
    if not getattr(session, "modified", True):
        return
    if isinstance(app.session_interface, SecureCookieSessionInterface):
        return  # manage_session=False with cookies: a socket cannot set one, writes drop
    if _browser_owns(app, session):
        # the store is updated; the cookie on this throwaway response goes nowhere, which
        # is fine: the browser already holds the session's id
        app.session_interface.save_session(app, session, app.response_class())
    else:
        # the handshake carried no cookie for this session (an anonymous browser, or a
        # session deleted since): a stored copy could never be found again, so the
        # connection keeps its own
        record.session = session


def session_cookie(app: Flask, environ: Mapping[str, Any]) -> str | None:
    """The session cookie a request carried (None without one)."""
    name = app.session_interface.get_cookie_name(app)
    value = parse_cookie(str(environ.get("HTTP_COOKIE", ""))).get(name)
    return value or None


def follow_http_session(app: Flask, records: Iterable[SocketRecord], response: Any) -> int:
    """After an HTTP response that set a new cookie session, hand it to the sockets of
    the same browser; returns how many sockets got it.

    "The same browser": sockets whose last known session cookie is the one this request
    carried. A cookie session cannot be re-read by an open socket, so without this a
    login or logout over HTTP would stay invisible to it until it reconnects.
    """
    name = app.session_interface.get_cookie_name(app)
    old = request.cookies.get(name)
    if not old:
        return 0
    new = _set_cookie(response, name)
    if new is None or new == old:
        return 0
    import flask

    current = flask.session._get_current_object()  # type: ignore[attr-defined]
    session_class = getattr(app.session_interface, "session_class", None)
    followed = 0
    for record in records:
        if record.cookie == old:
            # a copy per socket: their handlers then change it independently
            record.session = session_class(dict(current)) if session_class else None
            record.cookie = new
            followed += 1
    return followed


def _set_cookie(response: Any, name: str) -> str | None:
    """The value a response sets for cookie ``name`` ("" when it deletes it), or None."""
    for header in response.headers.getlist("Set-Cookie"):
        key, _, rest = header.partition("=")
        if key.strip() == name:
            return str(rest).split(";", 1)[0].strip().strip('"')
    return None


def _browser_owns(app: Flask, session: SessionMixin) -> bool:
    """Whether the handshake's session cookie names ``session`` in the store."""
    cookie = request.cookies.get(app.session_interface.get_cookie_name(app))
    if not cookie:
        return False
    sid = getattr(session, "sid", None)  # Flask-Session's ServerSideSession
    if not isinstance(sid, str):
        return True
    return cookie == sid or cookie.startswith(sid + ".")  # plain or signed id


def handshake(auth: Any = None) -> Handshake:
    """The core's :class:`Handshake` of the socket whose event is being handled.

    Headers, query and remote address of the opening request, plus what Flask resolved
    for this event: ``user`` (Flask-Login's ``current_user``, when installed), ``session``
    and ``extra`` (``auth``: what the client sent at connect; ``cookies``).
    """
    import flask

    base = Handshake.from_environ(request.environ)
    return dataclasses.replace(
        base, user=_current_user(),
        session=flask.session._get_current_object(),  # type: ignore[attr-defined]
        extra={"auth": auth, "cookies": dict(request.cookies)})


def _current_user() -> Any:
    try:
        from flask_login import current_user
    except ImportError:
        return None
    try:
        return current_user._get_current_object()
    except Exception:  # Flask-Login installed but not set up on this app
        return None
