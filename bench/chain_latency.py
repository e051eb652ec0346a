"""Node log → WhaleTrade: our extra latency over a bare JSON-RPC subscriber on the same anvil.

Both subscribe to the same node; each emitted V2 OrderFilled is timestamped on arrival at the
bare ``websockets`` subscriber (the baseline) and when ``ChainFeed`` hands the decoded trade on.
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

from polytui.feeds.chain import ChainFeed
from polytui.model import WhaleTrade
from tests.anvil import running_anvil

WHALE = "0x" + "ab" * 20
FILLS = 200


async def _run(fills: int) -> dict[str, Any]:
    with running_anvil() as node:
        bare: dict[str, float] = {}
        ours: dict[str, float] = {}

        def on_trade(trade: WhaleTrade) -> None:
            ours[trade.tx_hash] = time.perf_counter()

        feed = ChainFeed(node.ws_url, addresses=[node.emitter], wallets={WHALE}, on_trade=on_trade)
        task = asyncio.create_task(feed.run())
        while not feed.status().connected:
            await asyncio.sleep(0.01)
        async with websockets.connect(node.ws_url) as ws:
            await ws.send(
                json.dumps(
                    {
                        "jsonrpc": "2.0",
                        "id": 1,
                        "method": "eth_subscribe",
                        "params": ["logs", {"address": node.emitter}],
                    }
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
            for i in range(fills):
                await asyncio.to_thread(
                    node.order_filled_v2,
                    maker=WHALE,
                    taker=node.emitter,
                    side=0,
                    token=1000 + i,
                    maker_amount=1_000_000,
                    taker_amount=2_000_000,
                    order_hash=i + 1,
                )
                await asyncio.sleep(0.005)
            deadline = time.perf_counter() + 10
            while (len(ours) < fills or len(bare) < fills) and time.perf_counter() < deadline:
                await asyncio.sleep(0.05)
            listener.cancel()
        await feed.stop()
        task.cancel()
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
    del argv
    result = asyncio.run(_run(FILLS))
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
