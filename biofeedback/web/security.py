"""The guard in front of every page, API call and WebSocket of ``biofeedback app``.

A local web app is still a server (Jupyter-style token handling):

1. **Host**: the ``Host`` header must name the loopback address the server listens on (``127.0.0.1``,
   ``localhost``, ``[::1]``, or the ``--host`` the user chose explicitly): a page on another site that
   re-points its own name at 127.0.0.1 (DNS rebinding) is refused with 403.
2. **Token**: the URL printed at start carries ``?token=...``. A request with the right token gets a
   cookie (``HttpOnly``, ``SameSite=Strict``, ``Path=/``) and is redirected to the same address without the
   token; afterwards the cookie is the proof. Anything else is refused with 401.
3. **Origin**: every WebSocket and every request that changes something (not GET/HEAD) must come with an
   ``Origin`` equal to the app's own (``http://`` + the Host), else 403: another site open in the same
   browser cannot drive the app, even with the cookie.
4. **Headers** on every response: a Content-Security-Policy that allows only the app's own origin
   (scripts, styles, images, connections), no framing, no referrer, no sniffing.

Pure ASGI (no Starlette import), so it guards HTTP and WebSocket alike.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD"})


def host_name(host_header: str) -> str:
    """``"127.0.0.1:8000"`` -> ``"127.0.0.1"``; ``"[::1]:8000"`` -> ``"[::1]"`` (lower case)."""
    h = host_header.strip().lower()
    if h.startswith("["):
        end = h.find("]")
        return h[: end + 1] if end > 0 else h
    return h.rsplit(":", 1)[0] if ":" in h else h


def csp(host_header: str) -> str:
    """The Content-Security-Policy: only the app's own origin, for everything."""
    return ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self' ws://{host_header}; font-src 'self'; manifest-src 'self'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class Guard:
    """ASGI middleware: Host, token/cookie and Origin checks, security headers."""

    def __init__(self, app: ASGIApp, *, token: str, port: int, extra_hosts: frozenset[str] = frozenset()):
        self.app = app
        self.token = token
        self.port = port
        self.cookie_name = f"biofeedback_{port}"
        self.cookie_value = secrets.token_urlsafe(32)  # one per server; the token never sits in a cookie
        self.hosts = LOOPBACK_NAMES | {h.lower() for h in extra_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        if host_name(host) not in self.hosts:
            await self._deny(scope, receive, send, 403, "refused: the Host header is not this app's address")
            return
        is_ws = scope["type"] == "websocket"
        method = scope.get("method", "GET")
        if is_ws or method not in SAFE_METHODS:
            if headers.get("origin") != f"http://{host}":
                await self._deny(scope, receive, send, 403, "refused: the request comes from another origin")
                return
        if self._has_cookie(headers.get("cookie", "")):
            await self.app(scope, receive, self._with_headers(send, host))
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = next((v for k, v in query if k == "token"), None)
        if given is not None and secrets.compare_digest(given, self.token) and not is_ws and method in SAFE_METHODS:
            rest = urlencode([(k, v) for k, v in query if k != "token"])
            location = scope.get("path", "/") + (f"?{rest}" if rest else "")
            cookie = f"{self.cookie_name}={self.cookie_value}; HttpOnly; SameSite=Strict; Path=/"
            await self._plain(send, 303, "", host, [(b"location", location.encode()), (b"set-cookie", cookie.encode())])
            return
        await self._deny(scope, receive, send, 401,
                         "refused: open the address with the token that `biofeedback app` printed")

    def _has_cookie(self, header: str) -> bool:
        if not header:
            return False
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(header)
        except Exception:  # noqa: BLE001 - a malformed cookie header is simply no proof
            return False
        morsel = jar.get(self.cookie_name)
        return morsel is not None and secrets.compare_digest(morsel.value, self.cookie_value)

    def _with_headers(self, send: Send, host: str) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                hdrs = list(message.get("headers", []))
                hdrs += _security_headers(host)
                message["headers"] = hdrs
            await send(message)

        return wrapped

    async def _deny(self, scope: Scope, receive: Receive, send: Send, status: int, text: str) -> None:
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            # Closing before accepting: the server answers the handshake with 403.
            await send({"type": "websocket.close", "code": 1008, "reason": text[:120]})
            return
        await self._plain(send, status, text + "\n", scope_host(scope))

    async def _plain(self, send: Send, status: int, text: str, host: str,
                     extra: list[tuple[bytes, bytes]] | None = None) -> None:
        body = text.encode()
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                   (b"cache-control", b"no-store"), *(extra or []), *_security_headers(host)]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def scope_host(scope: Scope) -> str:
    for k, v in scope.get("headers", []):
        if k.lower() == b"host":
            return str(v.decode("latin-1"))
    return ""


def _security_headers(host: str) -> list[tuple[bytes, bytes]]:
    safe_host = host if all(c.isalnum() or c in ".:[]-" for c in host) else "127.0.0.1"
    return [
        (b"content-security-policy", csp(safe_host).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"cross-origin-resource-policy", b"same-origin"),
    ]
