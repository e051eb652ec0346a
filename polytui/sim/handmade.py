"""Hand-made scenarios: quiet markets and whales, and fills made up on demand.

A benchmark or test that needs to say when and where each whale trades builds its scenario
here: ``markets`` binary markets at 0.50 that end in three days, ``whales`` watched wallets that
trade nothing on their own, except one past buy of the YES side of each of the first ``held``
markets by every whale (``/data/trades`` and ``/data/positions`` list it from the start; it was
matched before anything connected, so no feed sends it). Its fills are then sent with
:meth:`polytui.sim.server.SimServer.publish_fills`.
"""

from __future__ import annotations

import hashlib
import random
from decimal import Decimal

from polytui.sim.scenario import Scenario, SimMarket, SimTrade, SimWhale

PAST_S = -600.0  # sim time of the whales' past buys
FILL_PRICE = Decimal("0.51")
FILL_USD = Decimal(1500)


def _hex(rng: random.Random, nbytes: int) -> str:
    return "0x" + "".join(f"{rng.randrange(256):02x}" for _ in range(nbytes))


def handmade_scenario(markets: int, whales: int, held: int, seed: str = "handmade") -> Scenario:
    """The scenario (a pure function of its arguments)."""
    rng = random.Random(seed)
    made = [
        SimMarket(
            index=i,
            condition_id=_hex(rng, 32),
            question=f"Hand-made market {i}?",
            slug=f"handmade-{i}",
            yes_token=str(rng.randrange(10**75, 10**77)),
            no_token=str(rng.randrange(10**75, 10**77)),
            end_s=3 * 86400.0,
            start_price=Decimal("0.50"),
            yes_wins=True,
            fee=None,
            fee_type="",
            noise_seed=i,
        )
        for i in range(markets)
    ]
    wallets = [SimWhale(_hex(rng, 20), f"whale-{k}", 0.5, True) for k in range(whales)]
    past = [
        made_up_fill(made[m], whale.wallet, True, PAST_S, f"past:{m}:{whale.wallet}")
        for m in range(held)
        for whale in wallets
    ]
    return Scenario("handmade", 0, made, wallets, past)


def made_up_fill(market: SimMarket, wallet: str, yes: bool, t: float, tag: str) -> SimTrade:
    """A whale's buy of ``FILL_USD`` of one side at ``FILL_PRICE``, matched at sim time ``t``;
    ``tag`` makes its transaction hash."""
    digest = hashlib.sha256(tag.encode()).hexdigest()
    return SimTrade(
        t=t,
        wallet=wallet,
        market=market.index,
        token_id=market.yes_token if yes else market.no_token,
        outcome="Yes" if yes else "No",
        outcome_index=0 if yes else 1,
        side="BUY",
        price=FILL_PRICE,
        shares=(FILL_USD / FILL_PRICE).quantize(Decimal("0.01")),
        tx_hash="0x" + digest,
        order_hash="0x" + hashlib.sha256(digest.encode()).hexdigest(),
        block=84_950_000,
    )
