"""Live keys never leave the environment: not in a log line, the journal, an event or an error.

Every logger at DEBUG (httpx, websockets, py-clob-client-v2 included) while the engine trades
live against the simulator, with a lost POST answer, a refused order and a failed trade on the
way. The scan looks for each secret whole and for its first 12 characters (a truncated log
line must not leak a prefix either).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path

import pytest

from polytui.config import LoadedConfig
from polytui.execution.live import LiveCredentials, LiveError
from polytui.sim.server import SimServer
from polytui.wiring import build_engine
from tests.execution.live_helpers import first_pending, live_env, live_settings, wait_until


async def test_live_secrets_appear_nowhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("websockets", "httpx", "httpcore", "py_clob_client_v2"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    async with SimServer("demo", seed=7, speed=3) as sim:
        env = live_env(sim)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings = live_settings(sim, tmp_path / "data")
        settings.live.post_timeout_s = 0.4
        engine = build_engine(LoadedConfig(settings, None), live=True)
        sub = engine.subscribe(1_000_000)
        task = asyncio.create_task(engine.run())
        errors: list[str] = []
        try:
            intent = await first_pending(sub)
            sim.exchange.delay_next_response(1.0)  # the POST answer is lost: reconcile path
            assert (await engine.command("approve", intent_id=intent.id)).ok
            await wait_until(lambda: engine.journal.count("fill") >= 1, 20)
            broker = engine.broker
            market = await engine.market_for(intent.token_id)
            order = engine.portfolio.close_position(intent.token_id, engine.clock.now())
            assert order is not None and market is not None
            # A refused order (the CLOB's error text comes back) and a failed trade.
            refused = await broker.execute(
                replace(
                    order, id="ord-x", intent_id="int-x", shares=D(100000), limit_price=D("0.5")
                ),
                market,
                sized_price=D("0.5"),
                whale_price=D("0.5"),
            )
            errors.append(refused.reason)
            sim.exchange.fail_next_match()
            failed = await broker.execute(
                replace(order, id="ord-y", intent_id="int-y", shares=D(5), limit_price=D("0.01")),
                market,
                sized_price=D("0.5"),
                whale_price=D("0.5"),
            )
            errors.append(failed.reason)
            await engine.command("kill")
        finally:
            await engine.stop()
            await asyncio.wait_for(task, 15)
            engine.journal.close()
        statuses = [repr(s) for s in engine.feed_statuses()]
    # Errors raised about credentials name the variable, never the value.
    bad = dict(env, POLYTUI_PRIVATE_KEY=env["POLYTUI_PRIVATE_KEY"][:-2])
    with pytest.raises(LiveError) as caught:
        LiveCredentials.from_env(settings, bad)
    errors.append(str(caught.value))
    errors.append(repr(LiveCredentials.from_env(settings, env)))
    haystacks = {
        "journal": b"".join(p.read_bytes() for p in tmp_path.rglob("*.db*")),
        "logs": "\n".join(r.getMessage() for r in caplog.records).encode(),
        "events": "\n".join(repr(e) for e in sub.drain()).encode(),
        "status": "\n".join(statuses).encode(),
        "errors": "\n".join(errors).encode(),
    }
    secrets = [*env.values(), env["POLYTUI_PRIVATE_KEY"][2:]]
    needles = secrets + [s[:12] for s in secrets]
    hits = {where: [n for n in needles if n.encode() in blob] for where, blob in haystacks.items()}
    print(
        "live secrets scan:",
        {k: len(v) for k, v in hits.items()},
        "hits in",
        {k: len(v) for k, v in haystacks.items()},
        "bytes",
    )
    # The user channel's subscribe frame (credentials inside) was logged, cut short, and scrubbed.
    assert any('"apiKey": "[redacted]' in r.getMessage() for r in caplog.records)
    assert hits == {"journal": [], "logs": [], "events": [], "status": [], "errors": []}


def test_a_secret_cut_by_a_truncated_log_line_is_still_scrubbed() -> None:
    from polytui import redaction

    redaction.register_secrets(["Zq7secretvalue-0123456789"])
    text = redaction.redact('> TEXT \'{"secret": "Zq7secretval...e-0123456789"}\' and Zq7s… done')
    assert "Zq7secretval" not in text and "0123456789" not in text and "Zq7s" not in text
    assert text.endswith(" done")
