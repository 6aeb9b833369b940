"""What every request passes before it reaches the API: the Host check, the token and the
body size limit. Plain ASGI, so that a refusal costs nothing and is always JSON."""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.exceptions import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "photosearch_token"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class BodyTooLarge(HTTPException):
    """Raised while the body is read, so the framework answers with the status as it is."""

    def __init__(self, message: str) -> None:
        super().__init__(413, message)


async def send_json(
    send: Send,
    status: int,
    body: dict[str, Any],
    headers: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def host_name(header: str) -> str:
    """The host of a Host header, without its port ("[::1]:8000" -> "::1")."""
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class Guard:
    """`loopback_only`: answer only requests addressed to a loopback name, so that a web
    page elsewhere cannot reach the server through DNS rebinding. `token`: every request
    must carry it: a bearer header, the cookie, or `?token=` (which, opening the page,
    sets the cookie)."""

    def __init__(
        self, app: ASGIApp, *, token: str | None, loopback_only: bool, max_body: int
    ) -> None:
        self.app = app
        self.token = token
        self.loopback_only = loopback_only
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v for k, v in scope["headers"]}
        host = headers.get("host", b"").decode("latin-1")
        if self.loopback_only and host_name(host) not in LOOPBACK_HOSTS:
            await send_json(
                send,
                400,
                {
                    "error": f"host {host!r} is not served: open the page as "
                    "http://127.0.0.1:PORT/ (or serve with --host to allow others)"
                },
            )
            return
        if self.token is not None:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            offered = query.get("token", [None])[0]
            accepted = offered is not None and self._matches(offered)
            if accepted and not scope["path"].startswith("/api/"):
                # A person opening the page: keep the token in a cookie, not the URL.
                await self._set_cookie_and_redirect(scope, query, send)
                return
            if not accepted and not self._authorised(headers):
                await send_json(
                    send,
                    401,
                    {
                        "error": "missing or wrong token: open the page once as "
                        "http://HOST:PORT/?token=TOKEN, or send the header "
                        "'Authorization: Bearer TOKEN'"
                    },
                    headers=((b"www-authenticate", b'Bearer realm="photosearch"'),),
                )
                return
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await send_json(send, 413, {"error": self.too_large_message()})
            return
        await self.app(scope, self._limited(receive), send)

    def too_large_message(self) -> str:
        return (
            f"request body over {self.max_body // 2**20} MB: send a smaller image "
            "(or raise PHOTOSEARCH_UPLOAD_MAX_MB)"
        )

    def _matches(self, offered: str) -> bool:
        assert self.token is not None
        return hmac.compare_digest(offered.encode(), self.token.encode())

    def _authorised(self, headers: dict[str, bytes]) -> bool:
        auth = headers.get("authorization", b"").decode("latin-1")
        if auth.lower().startswith("bearer ") and self._matches(auth[7:].strip()):
            return True
        for part in headers.get("cookie", b"").decode("latin-1").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE and self._matches(value):
                return True
        return False

    async def _set_cookie_and_redirect(
        self, scope: Scope, query: dict[str, list[str]], send: Send
    ) -> None:
        """Trade `?token=` for a cookie, and take the token out of the address bar."""
        rest = urlencode({k: v for k, v in query.items() if k != "token"}, doseq=True)
        location = scope["path"] + (f"?{rest}" if rest else "")
        assert self.token is not None
        cookie = f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict"
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", location.encode("latin-1")),
                    (b"set-cookie", cookie.encode("latin-1")),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    def _limited(self, receive: Receive) -> Receive:
        """Counts the body as it arrives, for uploads sent without a length."""
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise BodyTooLarge(self.too_large_message())
            return message

        return limited
