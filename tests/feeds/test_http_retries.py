"""The one HTTP retry loop against a real loopback server: what it retries, how long it waits
(the waits are recorded, not slept), and the texts each caller makes of a failure."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from polytui.feeds.history import HistoryClient, HistoryError
from polytui.feeds.http import get_json, make_client, with_retries


@dataclass
class Server:
    url: str
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    hits: int = 0


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server("")

    async def answer(request: web.Request) -> web.Response:
        state.hits += 1
        if state.answers:
            status, headers = state.answers.pop(0)
            return web.Response(status=status, headers=headers)
        return web.json_response({"ok": True})

    app = web.Application()
    app.add_routes([web.get("/{tail:.*}", answer)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}"
    yield state
    await runner.cleanup()


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


class Waits(list[float]):
    async def __call__(self, delay: float) -> None:
        self.append(delay)


async def test_429_waits_its_retry_after_and_5xx_backs_off_within_the_cap(server: Server) -> None:
    server.answers = [(429, {"Retry-After": "7"}), (429, {"Retry-After": "600"}), (503, {})]
    client, waits = make_client(2.0), Waits()
    tried = await with_retries(
        lambda: client.get(server.url + "/x"),
        attempts=5,
        backoff_s=1.0,
        backoff_cap_s=2.0,
        sleep=waits,
    )
    assert tried.response is not None and tried.status == 200 and server.hits == 4
    assert waits[:2] == [7.0, 60.0]  # Retry-After honoured, at most a minute
    assert 1.0 <= waits[2] <= 3.0  # 2**2 s capped at 2 s, jittered by 0.5-1.5
    await client.aclose()


async def test_a_4xx_is_the_answer_and_persistent_5xx_give_the_last_reason(
    server: Server,
) -> None:
    client, waits = make_client(2.0), Waits()
    server.answers = [(404, {})]
    tried = await with_retries(
        lambda: client.get(server.url + "/x"), attempts=3, backoff_s=0.01, sleep=waits
    )
    assert tried.response is not None and tried.status == 404 and waits == []
    server.answers = [(500, {}), (502, {}), (503, {})]
    tried = await with_retries(
        lambda: client.get(server.url + "/x"), attempts=3, backoff_s=0.01, sleep=waits
    )
    assert tried.response is None and tried.reason == "server error 503" and tried.status == 503
    assert len(waits) == 2  # no wait after the last try
    await client.aclose()


async def test_each_caller_keeps_its_own_texts() -> None:
    url = closed_port()
    client = make_client(2.0)
    result = await get_json(client, url + "/markets", attempts=2, backoff_s=0.01)
    assert result.error.startswith("ConnectError: ") and result.status == 0
    history = HistoryClient(client, url, attempts=2, backoff_s=0.01)
    with pytest.raises(HistoryError) as raised:
        await history._get("/v2/trades", [])
    assert str(raised.value) == "data-api /v2/trades: ConnectError after 2 tries"
    assert history.stats.requests == 2 and history.stats.retries == 1
    await client.aclose()
