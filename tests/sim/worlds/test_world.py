"""The world's impact, truth, determinism and scenario files."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from polytui.sim.worlds import (
    ARCHETYPES,
    SpecError,
    build_world,
    builtin_names,
    builtin_spec,
    load_spec,
    parse_spec,
)


@pytest.fixture(scope="module")
def demo():  # type: ignore[no-untyped-def]
    return build_world(builtin_spec("demo"), seed=7, hours=4)


def _tax(world, kind: str, large: bool | None) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for tr in world.trades:
        m = world.markets[tr.market]
        arche = world.wallet(tr.wallet).archetype
        if m.group.name != kind or arche == "informed_fast" or not 0.3 <= tr.price <= 0.7:
            continue
        if large is not None and large != (float(tr.usd) >= m.group.large_usd):
            continue
        e_ask, _ = world.expected_copy_price(tr, 2.0)
        out.append((e_ask - float(tr.price)) / float(tr.price))
    return out


def test_a_copy_two_seconds_after_a_large_buy_pays_the_front_runners(demo) -> None:  # type: ignore[no-untyped-def]
    prone = _tax(demo, "btc-15m", large=True)
    assert len(prone) > 30
    assert 0.06 <= statistics.median(prone) <= 0.09
    deep = _tax(demo, "politics", large=None)  # deep: no size front-runs there
    assert len(deep) > 10
    assert abs(statistics.median(deep)) < 0.01


def test_a_whale_fill_walks_the_book_and_the_book_refills(demo) -> None:  # type: ignore[no-untyped-def]
    big = next(
        tr
        for tr in demo.trades
        if demo.markets[tr.market].group.name == "btc-15m" and tr.levels >= 3
    )
    market = demo.markets[big.market]
    before = market.best_ask(big.token_id, big.t - 0.001)
    after = market.best_ask(big.token_id, big.t + 1.0)
    later = market.best_ask(big.token_id, big.t + 20 * market.group.refill_s)
    assert float(big.price) > before
    assert after >= before + 0.02
    # Refilled: back to the public price's own book (which may have moved, so compare to it).
    assert (
        later
        == pytest.approx(
            market.book.base(market.yes_price(big.t + 20 * market.group.refill_s))[1], abs=0.011
        )
        or big.token_id == market.no_token
    )


def test_truth_knows_who_is_worth_copying(demo) -> None:  # type: ignore[no-untyped-def]
    truth = demo.truth(origin_unix=1_780_000_000.0)
    assert set(truth) >= {"markets", "wallets"}
    assert set(truth["markets"][0]) >= {"condition_id", "winner_token_id", "end"}
    by = {w["alias"]: w for w in truth["wallets"]}
    for w in truth["wallets"]:
        assert set(w["copy_edge"]) == {"0.65", "2", "5", "15"}
        assert w["archetype"] in ARCHETYPES
        if w["archetype"] in ("noise", "herd", "longshot"):
            assert w["true_edge"] == 0.0
            assert all(v < 0 for v in w["copy_edge"].values())  # spread, impact and fee
    for alias in ("whale-slow-1", "whale-slow-2"):
        assert by[alias]["true_edge"] > 0.05
        assert by[alias]["copy_edge"]["2"] > 0.02
    fast = by["whale-fast"]
    assert fast["true_edge"] > 0.1
    assert fast["copy_edge"]["0.65"] > 0.05
    assert fast["copy_edge"]["2"] < 0


def test_noise_world_has_no_edge_anywhere() -> None:
    truth = build_world(builtin_spec("noise"), seed=2, hours=2).truth()
    for w in truth["wallets"]:
        assert w["true_edge"] == 0.0
        assert w["copy_edge"]["2"] < 0


def test_same_seed_same_world_other_seed_other_world() -> None:
    a = build_world(builtin_spec("chaos"), seed=5, hours=0.5)
    b = build_world(builtin_spec("chaos"), seed=5, hours=0.5)
    c = build_world(builtin_spec("chaos"), seed=6, hours=0.5)
    assert a.trades == b.trades and a.truth() == b.truth()
    assert [m.condition_id for m in a.markets] != [m.condition_id for m in c.markets]


def test_whales_trade_over_the_whole_horizon_and_markets_resolve_every_ten_minutes() -> None:
    world = build_world(builtin_spec("demo"), seed=11, hours=3)
    last = world.trades[-1].t
    assert last > world.horizon_s - 600
    for start in range(0, int(world.horizon_s) - 600, 300):
        assert len(world.resolutions(start, start + 600)) >= 2, start
    ends = [m.end_s - max(0.0, m.start_s) for m in world.markets]
    assert min(ends) < 900 and max(ends) > 86400


def test_every_builtin_loads_and_builds() -> None:
    assert set(builtin_names()) >= {"demo", "noise", "mixed", "chaos", "quiet"}
    for name in builtin_names():
        world = build_world(builtin_spec(name), hours=0.25)
        assert world.markets and world.wallets


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"colour": 1}, "colour: unknown key"),
        ({"markets": []}, "markets: at least one"),
        ({"whales": [{"archetype": "genius"}]}, "whales[0].archetype: 'genius' is not one of"),
        ({"whales": [{"archetype": "noise", "members": 3}]}, "whales[0].members: only herd"),
        ({"whales": [{"usd": [5, 1]}]}, "whales[0].usd: needs"),
        ({"markets": [{"fee": "free"}]}, "markets[0].fee: 'free' is not one of"),
        ({"markets": [{"depth": "deep"}]}, "markets[0].depth: must be a number"),
        ({"whales": [{"markets": ["nowhere"]}]}, "whales[0].markets: no [[markets]] group"),
    ],
)
def test_a_bad_scenario_file_names_the_key(patch: dict[str, object], message: str) -> None:
    data: dict[str, object] = {"markets": [{}], **patch}
    with pytest.raises(SpecError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_spec(data)


def test_a_scenario_file_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text('seed = 3\n[[markets]]\ncount = 2\n[[whales]]\narchetype = "noise"\n')
    spec = load_spec(path)
    assert spec.name == "w" and spec.seed == 3
    path.write_text("seed = [\n")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(path)
