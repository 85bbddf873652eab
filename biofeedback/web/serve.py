"""Run the app: bind the socket, print the address with its token, open the browser, serve."""

from __future__ import annotations

import asyncio
import secrets
import socket
import sys
from pathlib import Path
from typing import Any

from biofeedback.errors import BiofeedbackError, InputError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ServeError(BiofeedbackError):
    """The server could not start (port taken, address not available): exit 1."""

    exit_status = 1


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.listen(64)
    sock.setblocking(False)
    return sock


def serve(home: Path, *, host: str, port: int, open_browser: bool, demo: Any, lang: str) -> int:
    if not host or any(c.isspace() for c in host):
        raise InputError(f"--host must be an address, got {host!r}")
    sock = bind(host, port)  # first: a taken port is reported before the slow imports
    port = sock.getsockname()[1]

    import uvicorn

    from biofeedback.web.security import Guard
    from biofeedback.web.server import create_app

    token = secrets.token_urlsafe(24)
    extra: frozenset[str] = frozenset()
    if host not in LOOPBACK:
        print(f"biofeedback app: warning: listening on {host}, not only this machine: anyone who can reach "
              f"it and has the token can see your sessions", file=sys.stderr)
        extra = frozenset({host if ":" not in host else f"[{host}]"})
    app = Guard(create_app(home, demo=demo, lang=lang), token=token, port=port, extra_hosts=extra)
    shown = "127.0.0.1" if host in ("127.0.0.1", "0.0.0.0", "localhost") else (f"[{host}]" if ":" in host else host)
    url = f"http://{shown}:{port}/?token={token}"
    print(url, flush=True)
    print(f"biofeedback app: serving the store in {home}; Ctrl-C stops", file=sys.stderr, flush=True)
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", ws="websockets-sansio"
                            if _has_sansio() else "auto", ws_ping_interval=20, timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    asyncio.run(server.serve(sockets=[sock]))
    return 0


def _has_sansio() -> bool:
    try:
        import uvicorn.protocols.websockets.websockets_sansio_impl  # noqa: F401
    except ImportError:
        return False
    return True
