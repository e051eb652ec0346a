"""Headless Chromium driven over the DevTools protocol (a WebSocket), for the browser test.

Chromium is Debian's ``chromium`` package (``make install`` installs it). It starts with its own
profile in a temporary directory, listens for DevTools on a free loopback port (written to
``DevToolsActivePort`` in the profile), and this client talks to its first tab.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

CHROMIUM_NAMES = ("chromium", "chromium-browser", "chromium-headless-shell")


def chromium_path() -> str | None:
    """The installed Chromium, if any."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


class Browser:
    """One headless Chromium and a DevTools session on its first tab."""

    def __init__(self, binary: str, profile: Path, width: int = 1280, height: int = 800) -> None:
        self.binary = binary
        self.profile = profile
        self.size = (width, height)
        self.proc: subprocess.Popen[bytes] | None = None
        self.ws: ClientConnection | None = None
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._reader: asyncio.Task[None] | None = None
        self.frames_received: list[bytes] = []

    async def start(self, timeout: float = 30.0) -> Browser:
        self.proc = subprocess.Popen(
            [
                self.binary, "--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking",
                "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
                f"--user-data-dir={self.profile}", f"--window-size={self.size[0]},{self.size[1]}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited {self.proc.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError("chromium never opened its DevTools port")
            await asyncio.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                tabs = (await client.get(f"http://127.0.0.1:{port}/json/list")).json()
                pages = [t for t in tabs if t.get("type") == "page"]
                if pages:
                    break
                await asyncio.sleep(0.1)
        self.ws = await connect(pages[0]["webSocketDebuggerUrl"], max_size=None)
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.ws is not None
        async for raw in self.ws:
            message = json.loads(raw)
            if "id" in message:
                future = self._waiting.pop(message["id"], None)
                if future is not None and not future.done():
                    future.set_result(message)
            elif message.get("method") == "Network.webSocketFrameReceived":
                response = message["params"]["response"]
                data = response.get("payloadData", "")
                if response.get("opcode") == 2:
                    self.frames_received.append(base64.b64decode(data))
                else:
                    self.frames_received.append(data.encode())

    async def send(self, method: str, **params: Any) -> Any:
        """Run one DevTools command; its result (an error raises)."""
        assert self.ws is not None
        ident = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[ident] = future
        await self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        message = await asyncio.wait_for(future, 30)
        if "error" in message:
            raise RuntimeError(f"{method}: {message['error']}")
        return message.get("result", {})

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    async def screenshot(self, path: Path) -> Path:
        shot = await self.send("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    async def press(self, key: str) -> None:
        """Type one printable character into the focused element."""
        code = f"Key{key.upper()}" if key.isalpha() else ""
        common = {"key": key, "code": code, "windowsVirtualKeyCode": ord(key.upper())}
        await self.send("Input.dispatchKeyEvent", type="keyDown", text=key, **common)
        await self.send("Input.dispatchKeyEvent", type="keyUp", **common)

    def received_text(self) -> bytes:
        return b"".join(self.frames_received)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
