"""The Tornado plugin with ``tornado.testing``: long-polling through ``fetch``, the
websocket through ``websocket_connect``, on the test case's own server and IOLoop."""

from __future__ import annotations

import json
from typing import Any

import tornado.web
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.testing import AsyncHTTPTestCase, gen_test
from tornado.websocket import websocket_connect

from tests.sanic_plugin.eio import PollingPeer

from .chatapp import ChatSocket, make_app, signed

ALICE = {"Cookie": f"user={signed('user', 'alice')}; theme={signed('theme', 'dark')}"}


class PluginCase(AsyncHTTPTestCase):
    settings: dict[str, Any] = {}
    handler_class: type = ChatSocket

    def get_app(self) -> tornado.web.Application:
        self.app, self.socketio = make_app(self.handler_class, **self.settings)
        return self.app

    def tearDown(self) -> None:
        self.io_loop.run_sync(self.socketio.shutdown)
        super().tearDown()

    def peer(self, headers: dict[str, str] | None = None) -> PollingPeer:
        def request(method: str, url: str, body: str | None,
                    hdrs: dict[str, str]) -> tuple[int, str, Any]:
            response = self.fetch(url, method=method, headers=hdrs, raise_error=False,
                                  body=None if method in ("GET", "OPTIONS") else body or "",
                                  allow_nonstandard_methods=True)
            return response.code, response.body.decode(), response.headers

        return PollingPeer(request, headers=headers)

    async def websocket(self, headers: dict[str, str]) -> Any:
        url = self.get_url("/socket.io/?EIO=4&transport=websocket").replace("http", "ws", 1)
        return await websocket_connect(HTTPRequest(url, headers=headers))

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.get_http_port()}"


class TestAuthAndSession(PluginCase):
    settings = {"socketio_ping_interval": 5}

    def test_current_user_and_signed_cookies_reach_handlers(self) -> None:
        alice = self.peer(ALICE)
        kind, reply = alice.connect({"token": "t"})
        assert kind == "40" and "sid" in reply
        assert alice.handshake["pingInterval"] == 5000  # from the Application settings
        who = alice.call("whoami")[0]
        assert who["user"] == "alice"
        assert who["session"] == {"user": "alice", "theme": "dark"}  # verified cookies only
        assert who["auth"] == {"token": "t"}
        assert (who["transport"], who["remote_addr"]) == ("polling", "127.0.0.1")
        assert alice.call("join", "lobby") == [sorted([reply["sid"], "lobby"])]
        assert ("connect", "alice") in self.app.events  # type: ignore[attr-defined]

    def test_forged_or_missing_cookie_is_refused_with_the_reason(self) -> None:
        assert self.peer().connect() == ("44", {"message": "login required",
                                                "data": {"status": 401}})
        forged = self.peer({"Cookie": "user=alice"})
        assert forged.connect()[0] == "44"
        other_secret = {"Cookie": f"user={signed('user', 'alice', secret='other')}"}
        assert self.peer(other_secret).connect()[0] == "44"

    def test_engine_answers_every_method(self) -> None:
        response = self.fetch("/socket.io/?EIO=4&transport=polling", method="PUT", body="",
                              raise_error=False)
        assert response.code == 400
        assert json.loads(response.body)["code"] == 2

    @gen_test(timeout=20)
    async def test_websocket_session_binary_and_transport_close(self) -> None:
        ws = await self.websocket(ALICE)
        opened = json.loads((await ws.read_message())[1:])
        assert opened["upgrades"] == []
        ws.write_message('40{"token":"ws"}')
        assert (await ws.read_message()).startswith("40{")
        ws.write_message('421["whoami"]')
        who = json.loads((await ws.read_message())[3:])[0]
        assert (who["user"], who["transport"]) == ("alice", "websocket")
        ws.write_message('451-2["upload",{"_placeholder":true,"num":0},"blob"]')
        ws.write_message(b"\x01\x02\x03", binary=True)
        head = await ws.read_message()
        assert head.startswith("461-2[") and '"size":3' in head
        assert await ws.read_message() == b"\x03\x02\x01"
        ws.close()  # no Engine.IO close packet: the transport just goes away
        events = self.app.events  # type: ignore[attr-defined]
        for _ in range(200):  # bounded wait for the server to notice
            if ("disconnect", "transport close") in events:
                break
            await self.socketio.server.sleep(0.01)
        assert ("disconnect", "transport close") in events

    @gen_test(timeout=20)
    async def test_shutdown_disconnects_clients(self) -> None:
        ws = await self.websocket(ALICE)
        await ws.read_message()
        ws.write_message("40")
        await ws.read_message()
        await self.socketio.shutdown()
        assert ("disconnect", "server shutting down") in self.app.events  # type: ignore


class TestDefaultOrigins(PluginCase):
    def test_polling_foreign_origin_refused_own_origin_allowed(self) -> None:
        status, body, _ = self.peer({**ALICE, "Origin": "http://evil.example"}).open()
        assert status == 400 and json.loads(body)["code"] == 4
        status, _, headers = self.peer({**ALICE, "Origin": self.origin}).open()
        assert status == 200
        assert headers.get_list("Access-Control-Allow-Origin") == [self.origin]

    @gen_test(timeout=20)
    async def test_websocket_foreign_origin_refused_by_check_origin(self) -> None:
        try:
            await self.websocket({**ALICE, "Origin": "http://evil.example"})
        except HTTPClientError as exc:
            assert exc.code == 403
        else:
            raise AssertionError("a foreign origin opened a websocket")
        ws = await self.websocket({**ALICE, "Origin": self.origin})
        assert (await ws.read_message()).startswith("0{")
        ws.close()


class TestTrustedOrigins(PluginCase):
    """Tornado's own ``trusted_origins`` setting decides when no Socket.IO policy is set."""

    settings = {"trusted_origins": ["http://partner.example"]}

    @gen_test(timeout=20)
    async def test_both_transports(self) -> None:
        ok = await self.http_client.fetch(
            self.get_url("/socket.io/?EIO=4&transport=polling"),
            headers={**ALICE, "Origin": "http://partner.example"})
        assert ok.code == 200
        ws = await self.websocket({**ALICE, "Origin": "http://partner.example"})
        assert (await ws.read_message()).startswith("0{")
        ws.close()
        refused = await self.http_client.fetch(
            self.get_url("/socket.io/?EIO=4&transport=polling"), raise_error=False,
            headers={**ALICE, "Origin": "http://evil.example"})
        assert refused.code == 400


class TestSocketIOOriginSetting(PluginCase):
    settings = {"socketio_cors_allowed_origins": ["http://app.example"],
                "cross_origin_protection": True, "xsrf_cookies": True}

    def test_setting_applies_to_polling_and_posts_need_no_xsrf(self) -> None:
        app_page = self.peer({**ALICE, "Origin": "http://app.example"})
        # the POST passes cross_origin_protection (same policy) and xsrf_cookies (exempt)
        assert app_page.connect()[0] == "40"
        assert app_page.call("whoami")[0]["user"] == "alice"
        status, _, _ = self.peer({**ALICE, "Origin": "http://evil.example"}).open()
        assert status == 400

    @gen_test(timeout=20)
    async def test_setting_applies_to_websocket(self) -> None:
        ws = await self.websocket({**ALICE, "Origin": "http://app.example"})
        assert (await ws.read_message()).startswith("0{")
        ws.close()
        try:
            await self.websocket({**ALICE, "Origin": "http://evil.example"})
        except HTTPClientError as exc:
            assert exc.code == 403
        else:
            raise AssertionError("a foreign origin opened a websocket")


class SubdomainSocket(ChatSocket):
    def check_origin(self, origin: str) -> bool:
        return origin.endswith(".example.org")


class TestCheckOriginOverride(PluginCase):
    handler_class = SubdomainSocket

    @gen_test(timeout=20)
    async def test_override_decides_both_transports(self) -> None:
        url = self.get_url("/socket.io/?EIO=4&transport=polling")
        ok = await self.http_client.fetch(url, headers={**ALICE,
                                                        "Origin": "http://a.example.org"})
        assert ok.code == 200
        assert ok.headers["Access-Control-Allow-Origin"] == "http://a.example.org"
        refused = await self.http_client.fetch(url, raise_error=False, headers={
            **ALICE, "Origin": "http://example.com"})
        assert refused.code == 400
        ws = await self.websocket({**ALICE, "Origin": "http://b.example.org"})
        assert (await ws.read_message()).startswith("0{")
        ws.close()
        try:
            await self.websocket({**ALICE, "Origin": "http://example.com"})
        except HTTPClientError as exc:
            assert exc.code == 403
        else:
            raise AssertionError("check_origin was not asked for the websocket")
