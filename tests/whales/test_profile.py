"""Profile arithmetic: price-adjusted edge, its uncertainty, playbooks, copyability."""

from __future__ import annotations

import json
from decimal import Decimal as D

from polytui.feeds.history_rows import trade_from_history_row
from polytui.journal import encode_payload
from polytui.model import FeeSchedule, Role, Side
from polytui.model.history import ActivityEvent, HistoryTrade, Resolution
from polytui.whales.bets import MarketFacts, build_bets
from polytui.whales.copyability import Tape, copy_price, tapes_by_token
from polytui.whales.profile import ProfileParams, WalletProfile, build_profile
from polytui.whales.stats import holm, t_quantile, t_sf
from tests.conftest import load_sample
from tests.whales.helpers import HOUR_MS, T0, condition, fill, settle, wallet, world

W = wallet(1)
FEES = FeeSchedule(rate=D("0.07"), exponent=1)


def test_student_t_tails_match_tables() -> None:
    assert abs(t_sf(2.228, 10) - 0.025) < 2e-4  # t(0.975, 10) = 2.228
    assert abs(t_quantile(0.975, 10) - 2.228) < 1e-3
    assert abs(t_sf(1.96, 1_000_000) - 0.025) < 1e-4
    assert holm([0.01, 0.04, 0.03]) == [0.03, 0.06, 0.06]


def test_edge_is_outcome_minus_price_with_fees_per_role_and_side() -> None:
    trades = [
        fill(W, 1, price="0.40", shares="100", role=Role.TAKER),
        fill(W, 2, price="0.40", shares="100", role=Role.MAKER),
        fill(W, 3, price="0.80", shares="10", side=Side.SELL, role=Role.MAKER),
    ]
    resolutions = {condition(m): settle(m, 0, T0 + HOUR_MS) for m in (1, 2, 3)}
    facts = {condition(m): MarketFacts(condition(m), fee_schedule=FEES) for m in (1, 2, 3)}
    bets = {b.condition_id: b for b in build_bets(trades, resolutions, facts)}
    # taker fee per share 0.07 × 0.4 × 0.6 = 0.0168
    assert bets[condition(1)].edge_per_share == D("0.5832")
    assert bets[condition(2)].edge_per_share == D("0.6")
    assert bets[condition(3)].edge_per_share == D("-0.2")  # sold at 0.80 what paid 1
    assert bets[condition(3)].capital_usd == D("2.0")


def test_winning_85_percent_at_090_is_no_edge() -> None:
    trades, resolutions, facts = [], {}, {}
    for m in range(200):
        trades.append(fill(W, m, price="0.90", ts_ms=T0 + m * HOUR_MS, role=Role.MAKER))
        resolutions[condition(m)] = settle(m, 0 if m % 20 < 17 else 1, T0 + (m + 5) * HOUR_MS)
    profile = build_profile(W, trades, resolutions, now_ms=T0, markets=facts)
    assert profile.resolved == 200 and profile.wins == 170
    assert profile.record.edge == D("-0.050000")
    assert profile.record.hi is not None and profile.record.hi < 0


def test_many_fills_in_one_market_do_not_shrink_the_uncertainty() -> None:
    trades, resolutions, facts = world(W, 1, seed=3, fills_per_market=50)
    profile = build_profile(W, trades, resolutions, now_ms=T0, markets=facts)
    assert profile.trades == 50 and profile.resolved == 1
    assert profile.record.se is None  # one market: no honest standard error


def test_noise_wallets_intervals_exclude_zero_about_as_often_as_chance() -> None:
    excluded = 0
    runs = 60
    for seed in range(runs):
        who = wallet(100 + seed)
        trades, resolutions, facts = world(who, 120, seed=seed, fills_per_market=3)
        p = build_profile(who, trades, resolutions, now_ms=T0, markets=facts).record
        assert p.lo is not None and p.hi is not None
        excluded += not (p.lo <= 0 <= p.hi)
    assert excluded <= 8  # 5 % of 60 is 3; 8 or more would happen < 1 % of the time


def test_a_real_edge_is_found_and_its_playbook_says_where() -> None:
    noise, r1, f1 = world(W, 150, seed=1, category="Sports")
    edge, r2, f2 = world(
        W,
        60,
        seed=2,
        true_edge=0.2,
        category="Weather",
        first_market=1000,
        price_range=(0.70, 0.79),
    )
    edge = [
        HistoryTrade(
            t.wallet,
            t.token_id,
            t.condition_id,
            t.side,
            t.price,
            t.shares,
            t.ts_ms,
            t.tx_hash,
            "No",
            0,
            role=t.role,
        )
        for t in edge
    ]
    profile = build_profile(W, noise + edge, {**r1, **r2}, now_ms=T0, markets={**f1, **f2})
    assert profile.playbooks, "the weather segment should survive the correction"
    top = profile.playbooks[0]
    assert top.sentence.startswith("buys No in weather markets at 0.70-0.90")
    assert "6-24 h before the end" in top.sentence
    assert top.p_adjusted < D("0.05") and top.tried > 10
    noisy = build_profile(W, noise, r1, now_ms=T0, markets=f1)
    assert noisy.playbooks == ()


def test_copy_price_at_each_delay_comes_from_the_tape_after_the_fill() -> None:
    whale = fill(W, 1, price="0.50", ts_ms=T0, tx="0xwhale")
    tape = Tape.of(
        [
            fill(wallet(9), 1, price="0.50", ts_ms=T0, tx="0xwhale"),  # the whale's own print
            fill(wallet(9), 1, price="0.51", ts_ms=T0 + 1000),
            fill(wallet(9), 1, price="0.40", ts_ms=T0 + 2000, side=Side.SELL),  # a sale: not a buy
            fill(wallet(9), 1, price="0.53", ts_ms=T0 + 3000),
            fill(wallet(9), 1, price="0.56", ts_ms=T0 + 10_000),
            fill(wallet(9), 1, price="0.60", ts_ms=T0 + 20_000),
        ]
    )
    prices = [copy_price(tape, whale, d, 300) for d in (0.65, 2, 5, 15)]
    assert prices == [D("0.51"), D("0.53"), D("0.56"), D("0.60")]
    assert copy_price(tape, whale, 30, 300) is None


def _informed(who: str, *, fast: bool, seed: int) -> WalletProfile:
    """A wallet with a real edge; a fast one's edge is in the price within a second."""
    trades, resolutions, facts = world(who, 80, seed=seed, true_edge=0.25, price_range=(0.3, 0.6))
    prints: list[HistoryTrade] = []
    for t in trades:
        res = resolutions[t.condition_id]
        target = D("0.97") if res.payouts[0] == 1 else D("0.03")
        after = target if fast else t.price
        for k in range(1, 30):
            prints.append(
                HistoryTrade(
                    wallet(7),
                    t.token_id,
                    t.condition_id,
                    Side.BUY,
                    after,
                    D(5),
                    t.ts_ms + k * 1000,
                    f"0xp{k}{t.ts_ms}",
                )
            )
    return build_profile(
        who,
        trades,
        resolutions,
        now_ms=T0,
        markets=facts,
        tapes=tapes_by_token(prints),
        params=ProfileParams(min_resolved=20),
    )


def test_a_fast_informed_wallet_is_not_copyable_and_says_why() -> None:
    fast = _informed(wallet(2), fast=True, seed=5)
    assert fast.record.lower_bound() is not None and fast.record.lower_bound() > 0
    assert not fast.copyable and fast.reason.startswith("edge gone by 2 s")
    slow = _informed(wallet(3), fast=False, seed=5)
    assert slow.copyable, slow.reason
    at2 = slow.copy_at(2.0)
    assert at2 is not None and at2.stat.edge == slow.record.edge  # same prices, maker fills
    assert [str(c.delay_s) for c in slow.copy] == ["0.65", "2.0", "5.0", "15.0"]


def test_too_few_settled_bets_is_not_copyable() -> None:
    trades, resolutions, facts = world(W, 5, seed=1)
    profile = build_profile(W, trades, resolutions, now_ms=T0, markets=facts)
    assert not profile.copyable and profile.reason == "only 5 settled bets (needs 20)"


def test_holding_time_active_hours_and_redeems() -> None:
    trades = [
        fill(W, 1, price="0.5", ts_ms=T0),
        fill(W, 1, price="0.6", side=Side.SELL, ts_ms=T0 + HOUR_MS),
        fill(W, 2, price="0.5", ts_ms=T0),
    ]
    resolutions = {condition(2): settle(2, 0, T0 + 10 * HOUR_MS)}
    redeem = ActivityEvent(W, "REDEEM", condition(2), D(10), D(10), T0 + 4 * HOUR_MS)
    profile = build_profile(W, trades, resolutions, now_ms=T0, events=[redeem])
    assert profile.trades == 3 and profile.redeems == 1
    assert profile.holding_median_s == int(2.5 * 3600)
    assert sum(profile.active_hours) == 3


def test_real_sample_rows_parse_into_a_profile_that_round_trips_the_journal_form() -> None:
    rows = load_sample("data_api_trades.live_capture.json")["trades_by_market"]
    trades = [trade_from_history_row(r) for r in rows]
    who = trades[0].wallet
    resolution = Resolution(trades[0].condition_id, (D(1), D(0)), trades[0].ts_ms + HOUR_MS)
    profile = build_profile(who, trades, {resolution.condition_id: resolution}, now_ms=T0)
    assert profile.trades == 1 and profile.resolved == 1 and profile.wins == 1
    assert profile.record.edge == D("0.235000")  # 1 − 0.765, fee-free market
    text = encode_payload(profile.to_record())  # the journal refuses floats: none here
    assert WalletProfile.from_record(json.loads(text)) == profile


def test_a_wallet_buying_cheap_tokens_is_labelled_a_longshot_buyer_and_others_are_not() -> None:
    cheap = wallet(71)
    trades, settled, facts = world(cheap, 60, seed=5, price_range=(0.03, 0.15))
    profile = build_profile(cheap, trades, settled, now_ms=T0, markets=facts)
    assert profile.extra["style"] == "longshot"
    assert profile.reason.startswith("longshot buyer (100 % of its buys under 0.20): ")
    fair = wallet(72)
    trades, settled, facts = world(fair, 60, seed=5, price_range=(0.2, 0.8))
    profile = build_profile(fair, trades, settled, now_ms=T0, markets=facts)
    assert profile.extra["style"] == "" and not profile.reason.startswith("longshot")
    assert D(profile.extra["settled_pnl_usd"]) == sum(
        (
            t.shares * (1 - t.price)
            if settled[t.condition_id].payouts[0] == 1
            else -t.shares * t.price
        )
        for t in trades
    )
