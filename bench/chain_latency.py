"""Node log → WhaleTrade: our extra latency over a bare JSON-RPC subscriber on the same anvil.

Both subscribe to the same node with the same subscriptions (the feed's log filter and newHeads);
each emitted V2 OrderFilled is timestamped on arrival at the bare ``websockets`` subscriber (the
baseline) and when ``ChainFeed`` hands the decoded trade on. The transactions come from another
process, so nothing else in this one competes for the interpreter.
The difference is what polytui adds (web3 parsing, ABI decoding, attribution). Target: p99 ≤ 5 ms.

Run: ``python -m bench.chain_latency`` (needs anvil from ``make test``).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from typing import Any

import websockets

from polytui.engine import freeze_heap
from polytui.feeds.chain import ChainFeed
from polytui.model import WhaleTrade
from tests.anvil import V2_TOPIC, Anvil, addr_word, free_port, running_anvil, word

WHALE = "0x" + "ab" * 20
FILLS = 200
SMOKE_FILLS = 10

# Sends each transaction (a JSON list on stdin) to the node at argv[1], 5 ms apart.
EMITTER = """
import json, sys, time, httpx
with httpx.Client(base_url=sys.argv[1], timeout=10) as client:
    for n, tx in enumerate(json.load(sys.stdin)):
        body = {"jsonrpc": "2.0", "id": n, "method": "eth_sendTransaction", "params": [tx]}
        client.post("/", json=body).raise_for_status()
        time.sleep(0.005)
"""


def _order_filled_tx(node: Anvil, i: int) -> dict[str, str]:
    """The transaction that makes the node's emitter log one V2 OrderFilled for WHALE."""
    topics = [V2_TOPIC, "0x" + word(i + 1), "0x" + addr_word(WHALE), "0x" + addr_word(node.emitter)]
    data = [word(0), word(1000 + i), word(1_000_000), word(2_000_000), word(0), word(0), word(0)]
    calldata = "0x" + "".join(t.removeprefix("0x") for t in topics) + "".join(data)
    return {"from": node.account, "to": node.emitter, "data": calldata, "gas": "0x100000"}


async def _fanout(node: Anvil) -> tuple[asyncio.subprocess.Process, str]:
    """The relay that gives both subscribers each frame at the same moment (see rpc_fanout)."""
    port = free_port()
    relay = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.rpc_fanout",
        node.ws_url,
        str(port),
        stdout=asyncio.subprocess.PIPE,
    )
    assert relay.stdout is not None
    line = await asyncio.wait_for(relay.stdout.readline(), timeout=20)
    if line.strip() != b"ready":
        raise RuntimeError("the fan-out relay did not start")
    return relay, f"ws://127.0.0.1:{port}"


async def _run(fills: int) -> dict[str, Any]:
    with running_anvil() as node:
        bare: dict[str, float] = {}
        ours: dict[str, float] = {}

        def on_trade(trade: WhaleTrade) -> None:
            ours[trade.tx_hash] = time.perf_counter()

        relay, url = await _fanout(node)
        feed = ChainFeed(url, addresses=[node.emitter], wallets={WHALE}, on_trade=on_trade)
        async with websockets.connect(url) as ws:
            # The baseline subscribes first, to exactly what the feed asks for (the same log
            # filter and newHeads): the relay then hands every notification to it first, and
            # to the feed microseconds later.
            for n, params in enumerate((["logs", feed.log_filter()], ["newHeads"]), start=1):
                await ws.send(
                    json.dumps(
                        {"jsonrpc": "2.0", "id": n, "method": "eth_subscribe", "params": params}
                    )
                )
                await ws.recv()

            async def listen() -> None:
                async for raw in ws:
                    message = json.loads(raw)
                    result = message.get("params", {}).get("result", {})
                    if "transactionHash" in result:
                        bare[result["transactionHash"].lower()] = time.perf_counter()

            listener = asyncio.create_task(listen())
            task = asyncio.create_task(feed.run())
            while not feed.status().connected:
                await asyncio.sleep(0.01)
            freeze_heap()  # as the engine does once its feeds are up
            # The transactions are sent by another process: an emitter thread in this one
            # would hold the GIL at random moments and its pauses would be measured as ours.
            emitter = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                EMITTER,
                node.http_url,
                stdin=asyncio.subprocess.PIPE,
            )
            txs = json.dumps([_order_filled_tx(node, i) for i in range(fills)])
            await emitter.communicate(txs.encode())
            deadline = time.perf_counter() + 10
            while (len(ours) < fills or len(bare) < fills) and time.perf_counter() < deadline:
                await asyncio.sleep(0.05)
            listener.cancel()
        await feed.stop()
        task.cancel()
        relay.kill()
        await relay.wait()
    extra_ms = sorted((ours[h] - bare[h]) * 1000 for h in ours if h in bare)
    if not extra_ms:
        raise RuntimeError("no fills were seen by both subscribers")

    def pct(p: float) -> float:
        return round(extra_ms[min(len(extra_ms) - 1, int(p * len(extra_ms)))], 3)

    return {
        "bench": "chain_latency",
        "figures": [
            {
                "figure": "extra latency p50",
                "value": pct(0.5),
                "unit": "ms",
                "baseline": "bare websockets subscriber, same node",
                "ratio": None,
                "target": "p99 <= 5 ms",
            },
            {
                "figure": "extra latency p99",
                "value": pct(0.99),
                "unit": "ms",
                "baseline": "bare websockets subscriber, same node",
                "ratio": None,
                "target": "<= 5 ms",
            },
        ],
        "fills": len(extra_ms),
        "mean_ms": round(statistics.fmean(extra_ms), 3),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run, print and return the figures."""
    smoke = "--smoke" in (argv or [])  # make test: a few seconds, figures printed
    result = asyncio.run(_run(SMOKE_FILLS if smoke else FILLS))
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
