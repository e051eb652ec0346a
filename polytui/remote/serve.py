"""``polytui serve``: the console attached to the running daemon, in a browser (textual-serve).

textual-serve runs one child process per browser WebSocket, with a copy of the server's whole
environment, and has no authentication and no Origin check of its own
(HISTORY-MEMPOOL-REMOTE.md §3.2). So, here:

* the child is always ``polytui attach`` — it never starts an engine, and without a running
  daemon ``serve`` refuses to start;
* the secret variables (the ones config names, and any whose name says key, token, secret,
  passphrase, password or mnemonic) are removed from this process's environment before the
  server starts, so no child can inherit them;
* every request needs a random token: the printed URL carries it once as ``?token=``, the page
  answer turns it into an HttpOnly, SameSite=Strict cookie (the page's WebSocket URL has no
  room for it), and anything without a matching token or cookie gets 403;
* the WebSocket also needs an ``Origin`` equal to the server's own address, and every request a
  ``Host`` naming it, so a page on another origin (or a rebound DNS name) cannot drive the
  console with the visitor's cookie;
* it binds 127.0.0.1 unless ``--host`` says otherwise, and then warns: use an SSH tunnel or an
  authenticating reverse proxy, never a bare public port.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import secrets
import shlex
import sys
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from polytui import redaction
from polytui.remote.metrics import is_loopback

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
EXIT_NO_DAEMON = 3
SECRET_NAME_RE = re.compile(
    r"(TOKEN|SECRET|PASSPHRASE|PASSWORD|PASSWD|PRIVATE_KEY|API_KEY|MNEMONIC|POLYGON_WS)", re.I
)
# Headers on every answer: the token never leaves in a Referer (the page loads a web font from
# elsewhere), nothing is cached, and no other site may frame the console.
SAFE_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}


def secret_names(environ: Iterable[str], configured: Iterable[str]) -> list[str]:
    """Environment variables a served child must not inherit."""
    wanted = set(configured)
    return sorted(name for name in environ if name in wanted or SECRET_NAME_RE.search(name))


def strip_secrets(configured: Iterable[str]) -> list[str]:
    """Remove secret variables from this process's environment; the names removed."""
    names = secret_names(list(os.environ), configured)
    for name in names:
        os.environ.pop(name, None)
    return names


def attach_command(config: Any) -> str:
    """The shell command textual-serve runs per browser tab: this polytui, attached."""
    parts = [sys.executable, "-c", "from polytui.cli import main; main()", "attach"]
    if config is not None:
        parts += ["--config", str(config)]
    return shlex.join(parts)


def make_server(command: str, host: str, port: int, token: str) -> Any:
    """A textual-serve ``Server`` that demands the token, the Origin and the Host."""
    from aiohttp import web
    from textual_serve.server import Server

    cookie = f"polytui_serve_{port}"
    bracketed = f"[{host}]" if ":" in host else host
    origin = f"http://{bracketed}:{port}"
    hosts = {f"{bracketed}:{port}"}
    if is_loopback(host):
        hosts |= {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}

    def forbidden(why: str) -> web.Response:
        log.warning("serve: refused a request: %s", why, extra={"event": "serve_refused"})
        return web.Response(status=403, text=f"403 Forbidden: {why}\n", headers=SAFE_HEADERS)

    def token_ok(given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(str(given).encode(), token.encode())

    Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.host not in hosts:
            return forbidden("unknown Host")
        from_query = token_ok(request.query.get("token"))
        if not (from_query or token_ok(request.cookies.get(cookie))):
            return forbidden("a valid token is required (use the URL serve printed)")
        if request.path == "/ws" and request.headers.get("Origin") != origin:
            return forbidden("cross-origin WebSocket")
        response = await handler(request)
        if request.path != "/ws":
            response.headers.update(SAFE_HEADERS)
        if from_query and request.path == "/":
            response.set_cookie(cookie, token, httponly=True, samesite="Strict", path="/")
        return response

    class GuardedServer(Server):  # type: ignore[misc]
        """textual-serve with the guard in front of every route, quiet about the token."""

        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            app.middlewares.append(guard)
            return app

        async def on_startup(self, app: web.Application) -> None:
            return None  # the one URL with its token was printed already

        def initialize_logging(self) -> None:
            return None  # polytui's own logging; no access log (URLs carry the token)

        def serve(self, debug: bool = False) -> None:
            self.debug = debug
            web.run_app(self._make_app(), host=self.host, port=self.port, access_log=None,
                        print=None)  # fmt: skip

    return GuardedServer(command, host=host, port=port, title="polytui", public_url=origin)


def run_serve(loaded: Any, host: str | None, port: int) -> int:
    """Entry point of ``polytui serve``; returns the exit code."""
    from polytui.control import RemoteEngine, socket_path_for

    settings = loaded.settings
    logging.basicConfig(level=logging.INFO, format="polytui serve: %(message)s")
    redaction.install(settings)
    problem = RemoteEngine(socket_path_for(settings)).probe()
    if problem:
        print(f"polytui serve: {problem}; serve shows the console attached to it", file=sys.stderr)
        return EXIT_NO_DAEMON
    bind = host or DEFAULT_HOST
    if not is_loopback(bind):
        print(
            f"polytui serve: WARNING: listening on {bind}, reachable beyond this machine. Anyone "
            "with the URL can approve trades. Prefer the default 127.0.0.1 with an SSH tunnel "
            "(ssh -L 8765:127.0.0.1:8765 host), or put an authenticating HTTPS reverse proxy in "
            "front; the token travels in clear over plain HTTP.",
            file=sys.stderr,
        )
    removed = strip_secrets(redaction.secret_env_names(settings))
    token = secrets.token_urlsafe(32)
    redaction.register_secrets([token])
    server = make_server(attach_command(loaded.path), bind, port, token)
    shown = f"[{bind}]" if ":" in bind else bind
    print(f"http://{shown}:{port}/?token={token}", flush=True)
    if removed:
        print(f"polytui serve: not passed to the console: {', '.join(removed)}", file=sys.stderr)
    try:
        server.serve()
    except OSError as exc:
        print(f"polytui serve: cannot listen on {bind}:{port}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0
