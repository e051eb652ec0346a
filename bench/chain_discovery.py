"""Discovery mode: every V2 ``OrderFilled`` of both exchanges, unfiltered, decoded — logs/s.

In discovery mode the node filters nothing (no maker topic), so the feed decodes every fill of
the exchange and the neg-risk exchange (40–48 a block on Polygon, PROTOCOL.md §5) and hands on
those at or above ``discovery_min_usd``. The frames are the node's ``eth_subscription`` notes as
text (varied makers, tokens, sides, amounts and roles, a block's logs sharing its stamp); each
goes through the feed's own notification path (orjson parse → ``abi.decode_order_filled``
with eth_abi → dedup → discovery check), and the baseline is a bare JSON parse of the same
frames in the same run: orjson (the parser the feed uses) and the standard library's ``json``.
The eth_abi step alone (hex → words, as the feed does it) is timed too: it bounds what any
decoding through eth_abi can reach.
Targets: ≥ 20,000 logs/s and ≥ 0.5 × the bare parse.

Run: ``python -m bench.chain_discovery``.
"""

from __future__ import annotations

import gc
import json
import random
import sys
import time
from decimal import Decimal
from typing import Any

import orjson

from polytui.feeds import abi
from polytui.feeds.abi import ORDER_FILLED_V2
from polytui.feeds.chain import ChainFeed
from polytui.model import WhaleTrade

# CTFExchangeV2 and the neg-risk exchange stand-ins: two addresses, as the feed subscribes.
EXCHANGES = ["0x" + "e1" * 20, "0x" + "e2" * 20]
LOGS = 20_000
SMOKE_LOGS = 2_000
PER_BLOCK = 44
MIN_USD = Decimal(500)


def _word(value: int) -> str:
    return f"{value:064x}"


def make_frames(count: int, seed: int = 7) -> list[str]:
    """``count`` notification frames, ``PER_BLOCK`` logs a block."""
    rng = random.Random(seed)
    frames = []
    for n in range(count):
        block = 80_000_000 + n // PER_BLOCK
        exchange = EXCHANGES[n % 2]
        maker = "0x" + rng.randbytes(20).hex()
        # The taking order's event names the exchange as taker (PROTOCOL.md §5).
        taker = exchange if rng.random() < 0.3 else "0x" + rng.randbytes(20).hex()
        side = rng.randrange(2)
        shares = int(10 ** rng.uniform(0, 4.5)) * 1_000_000  # 1 to ~30,000 shares, most small
        collateral = shares * rng.randrange(1, 100) // 100
        maker_amount, taker_amount = (collateral, shares) if side == 0 else (shares, collateral)
        words = [side, rng.getrandbits(255), maker_amount, taker_amount, collateral // 50, 0, 0]
        entry = {
            "address": exchange,
            "topics": [
                ORDER_FILLED_V2,
                "0x" + rng.randbytes(32).hex(),
                "0x" + maker[2:].rjust(64, "0"),
                "0x" + taker[2:].rjust(64, "0"),
            ],
            "data": "0x" + "".join(_word(w) for w in words),
            "blockHash": "0x" + _word(block),
            "blockNumber": hex(block),
            "blockTimestamp": hex(1_790_000_000 + 2 * (n // PER_BLOCK)),
            "transactionHash": "0x" + rng.randbytes(32).hex(),
            "transactionIndex": hex(n % PER_BLOCK // 4),
            "logIndex": hex(n % PER_BLOCK),
            "removed": False,
        }
        params = {"subscription": "0x" + "5a" * 16, "result": entry}
        frames.append(
            json.dumps(
                {"jsonrpc": "2.0", "method": "eth_subscription", "params": params},
                separators=(",", ":"),
            )
        )
    return frames


def _timed(run: Any) -> float:
    gc.collect()
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def _best(run: Any, repeats: int) -> float:
    """The fastest of ``repeats`` runs: the least disturbed by the machine's other work."""
    return min(_timed(run) for _ in range(repeats))


def _measure(frames: list[str], repeats: int) -> dict[str, Any]:
    emitted: list[WhaleTrade] = []
    datas = [orjson.loads(f)["params"]["result"]["data"] for f in frames]

    def feed_run() -> ChainFeed:
        feed = ChainFeed(
            "ws://127.0.0.1:9",
            addresses=EXCHANGES,
            wallets=set(),
            on_trade=emitted.append,
            discovery_min_usd=MIN_USD,
        )
        feed._holding = False  # as in a live session, after its backfill
        on_note = feed._on_notification
        loads = orjson.loads
        for frame in frames:
            on_note(loads(frame))
        return feed

    def orjson_run() -> None:
        loads = orjson.loads
        for frame in frames:
            loads(frame)

    def json_run() -> None:
        loads = json.loads
        for frame in frames:
            loads(frame)

    def eth_abi_run() -> None:
        for data in datas:
            abi._decode(abi._V2_READ, data, abi._V2_HEX_LEN)

    feed = feed_run()  # warm-up; and the counts below
    if feed._failure is not None:
        raise feed._failure
    decoded, rejected, handed_on = feed.messages - feed.rejected, feed.rejected, len(emitted)
    ours_s = _best(feed_run, repeats)
    orjson_s = _best(orjson_run, repeats)
    json_s = _best(json_run, repeats)
    eth_abi_s = _best(eth_abi_run, repeats)
    n = len(frames)
    return {
        "bench": "chain_discovery",
        "figures": [
            {
                "figure": "unfiltered OrderFilled logs decoded/s",
                "value": round(n / ours_s),
                "unit": "logs/s",
                "baseline": round(n / orjson_s),
                "ratio": round(orjson_s / ours_s, 3),
                "target": ">= 20000 logs/s and ratio >= 0.5 (baseline: orjson.loads)",
            },
            {
                "figure": "same, against the standard library's json.loads",
                "value": round(n / ours_s),
                "unit": "logs/s",
                "baseline": round(n / json_s),
                "ratio": round(json_s / ours_s, 3),
                "target": "ratio >= 0.5",
            },
        ],
        "eth_abi_words_only_per_s": round(n / eth_abi_s),
        "per_log_us": {
            "ours": round(ours_s / n * 1e6, 2),
            "orjson_loads": round(orjson_s / n * 1e6, 2),
            "json_loads": round(json_s / n * 1e6, 2),
            "eth_abi_words": round(eth_abi_s / n * 1e6, 2),
        },
        "logs": n,
        "decoded": decoded,
        "rejected": rejected,
        "handed_on": handed_on,
        "discovery_min_usd": str(MIN_USD),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run, print and return the figures."""
    smoke = "--smoke" in (argv or [])  # make test: a few seconds, figures printed
    frames = make_frames(SMOKE_LOGS if smoke else LOGS)
    result = _measure(frames, 1 if smoke else 5)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
