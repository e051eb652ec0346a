"""``polytui serve`` in front of a real daemon: the 403 paths over plain HTTP, then headless
Chromium loads the page, presses ``p`` and sees PAUSED; the served console's process holds no
secret variable."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from polytui.remote.serve import secret_names
from tests.daemon.harness import CLI, DaemonProcess
from tests.remote.cdp import Browser, chromium_path

SECRETS = {
    "POLYTUI_PRIVATE_KEY": "0x" + "ab" * 32,
    "POLYTUI_TELEGRAM_TOKEN": "123:serve-test-token",
    "SOME_VENDOR_API_TOKEN": "vendor-secret-value",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """One ``polytui serve`` child in front of a daemon."""

    def __init__(self, daemon: DaemonProcess) -> None:
        self.daemon = daemon
        self.port = free_port()
        self.env = {**daemon.env, **SECRETS}
        self.proc = subprocess.Popen(
            [*CLI, "serve", "--port", str(self.port), "--config", str(daemon.config)],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url:
            _, err = self.proc.communicate(timeout=10)
            raise RuntimeError(f"serve printed no URL: {err}")
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError("serve never listened")
            time.sleep(0.05)
        self.token = self.url.split("token=", 1)[1]
        self.base = f"http://127.0.0.1:{self.port}"

    def stop(self) -> str:
        self.proc.terminate()
        try:
            _, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return err


@pytest.fixture(scope="module")
def daemon(sim: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    process = DaemonProcess(sim, tmp_path_factory.mktemp("serve"), policy="manual", ttl_s=30)
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def served(daemon: DaemonProcess) -> Iterator[Served]:
    server = Served(daemon)
    yield server
    server.stop()


def test_serve_prints_one_loopback_url_with_a_long_random_token(served: Served) -> None:
    parts = urlsplit(served.url)
    assert parts.scheme == "http" and parts.hostname == "127.0.0.1" and parts.path == "/"
    assert len(served.token) >= 40


def test_without_the_token_everything_is_403(served: Served) -> None:
    with httpx.Client(base_url=served.base) as client:
        for path in ("/", "/?token=wrong", "/static/js/textual.js", "/ws", "/download/x"):
            answer = client.get(path)
            assert answer.status_code == 403, path
            assert served.token not in answer.text
        page = client.get(f"/?token={served.token}")
        assert page.status_code == 200 and "textual-terminal" in page.text
        cookie = page.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert page.headers["referrer-policy"] == "no-referrer"
        # The cookie alone now opens the page's own static files …
        assert client.get("/static/js/textual.js").status_code == 200
        # … but a WebSocket from another origin (a page elsewhere riding on the cookie) is not.
        upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                   "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}  # fmt: skip
        evil = client.get("/ws", headers={**upgrade, "Origin": "http://127.0.0.1:9999"})
        assert evil.status_code == 403
        bare = client.get("/ws", headers=upgrade)  # no Origin at all
        assert bare.status_code == 403
    # A rebound DNS name pointing at 127.0.0.1 carries a foreign Host.
    rebound = httpx.get(f"{served.base}/?token={served.token}", headers={"Host": "evil.example"})
    assert rebound.status_code == 403


def test_serve_without_a_daemon_refuses(tmp_path: Path, sim: Any) -> None:
    idle = DaemonProcess(sim, tmp_path, policy="manual")
    out = subprocess.run(
        [*CLI, "serve", "--port", str(free_port()), "--config", str(idle.config)],
        env=idle.env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    shutil.rmtree(idle.runtime, ignore_errors=True)
    assert out.returncode == 3
    assert "no daemon is running" in out.stderr and out.stdout == ""


def test_a_non_loopback_host_warns_to_use_a_tunnel(daemon: DaemonProcess) -> None:
    proc = subprocess.Popen(
        [*CLI, "serve", "--host", "0.0.0.0", "--port", str(free_port()),
         "--config", str(daemon.config)],
        env=daemon.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("http://0.0.0.0:")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=15)
    assert "WARNING" in err and "SSH tunnel" in err


def test_secret_names_cover_config_and_obvious_names() -> None:
    environ = ["PATH", "HOME", "POLYTUI_PRIVATE_KEY", "GITHUB_TOKEN", "MY_SECRET", "TERM",
               "POLYTUI_POLYGON_WS", "XDG_RUNTIME_DIR", "CUSTOM_KEY_VAR"]  # fmt: skip
    assert secret_names(environ, ["CUSTOM_KEY_VAR"]) == [
        "CUSTOM_KEY_VAR", "GITHUB_TOKEN", "MY_SECRET", "POLYTUI_POLYGON_WS", "POLYTUI_PRIVATE_KEY"
    ]  # fmt: skip


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            with open(task / "children") as handle:
                kids = [int(k) for k in handle.read().split()]
            found += kids
            todo += kids
    return found


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)


async def test_chromium_shows_the_console_and_p_pauses_the_daemon(
    served: Served, daemon: DaemonProcess, tmp_path: Path
) -> None:
    binary = chromium_path()
    if binary is None:
        pytest.fail("chromium is not installed: `make install` installs Debian's chromium")
    browser = await Browser(binary, tmp_path / "profile").start()
    try:
        await browser.send("Network.enable")
        await browser.send("Page.enable")
        await browser.send("Page.navigate", url=served.url)
        # The console's first frames arrive over the WebSocket: its header names the mode.
        deadline = time.monotonic() + 60
        while b"paper" not in browser.received_text().lower():
            assert time.monotonic() < deadline, "the console never drew in the browser"
            await asyncio.sleep(0.2)
        await asyncio.sleep(2.0)  # let the first full frame settle before the picture
        await browser.screenshot(tmp_path / "console.png")
        await browser.evaluate("document.querySelector('.xterm-helper-textarea').focus()")
        before = len(browser.received_text())
        await browser.press("p")
        while b"PAUSED" not in browser.received_text()[before:]:
            assert time.monotonic() < deadline, "no PAUSED after pressing p"
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)
        shot = await browser.screenshot(tmp_path / "paused.png")
        keep = os.environ.get("POLYTUI_SERVE_SCREENSHOT")
        if keep:
            shutil.copyfile(shot, keep)
        status = await asyncio.to_thread(daemon.cli, "status", "--json")
        assert '"paused": true' in status.stdout
        # The served console is `polytui attach`, and it inherited none of the secrets.
        children = [p for p in descendants(served.proc.pid) if Path(f"/proc/{p}").exists()]
        attached = [p for p in children if b"attach" in Path(f"/proc/{p}/cmdline").read_bytes()]
        assert attached, "no `polytui attach` child"
        for pid in attached:
            leaked = set(SECRETS) & set(environ_of(pid))
            assert not leaked, leaked
            assert "POLYTUI_POLYGON_WS" not in environ_of(pid)
            assert environ_of(pid)["TEXTUAL_DRIVER"].endswith("WebDriver")
    finally:
        await browser.close()
        await asyncio.to_thread(daemon.cli, "resume")
