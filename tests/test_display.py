"""Fill and settlement lines read as the console's tables do: shares, price, dollars."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

from polytui.display import fill_text, money, settlement_text, trade
from polytui.model import Position, Resolution


def position(token: str, outcome: str, shares: str) -> Position:
    return Position(
        token_id=token, condition_id="0xabc", outcome=outcome, shares=D(shares),
        avg_price=D("0.5"), cost_usd=D("10"), fees_usd=D(0), end_time=None,
        market_question="Will it rain?",
    )  # fmt: skip


def test_money_puts_the_sign_before_the_dollar() -> None:
    assert money(D("-1234.5")) == "-$1,234.50" and money(D("0.125")) == "$0.12"


def test_trade_reads_side_shares_outcome_and_price() -> None:
    assert trade("BUY", D("40.84"), "Yes", D("0.62")) == "BUY 40.84 Yes @ 0.620"


def test_a_lost_and_a_won_outcome_in_one_market() -> None:
    held = {"y": position("y", "Yes", "20"), "n": position("n", "No", "10")}
    rows = [
        {"token_id": "y", "shares": "20", "payout_usd": "20", "pnl_usd": "10"},
        {"token_id": "n", "shares": "10", "payout_usd": "0", "pnl_usd": "-10"},
    ]
    text = settlement_text(Resolution.winner("0xabc", "y", "gamma"), held, rows)
    assert text == (
        "resolved (gamma): Will it rain? — 20.00 Yes won, paid $20.00; "
        "10.00 No lost, paid $0.00; realized +$0.00"
    )


def test_a_void_pays_half_and_says_void() -> None:
    void = Resolution("0xabc", (("y", D("0.5")), ("n", D("0.5"))), "data-api")
    rows = [{"token_id": "y", "shares": "20", "payout_usd": "10", "pnl_usd": "0"}]
    text = settlement_text(void, {"y": position("y", "Yes", "20")}, rows)
    assert "20.00 Yes void, paid $10.00" in text


def test_a_fill_without_market_metadata_still_reads_cleanly() -> None:
    from polytui.model import Fill, Side

    fill = Fill(
        id="f", order_id="o", intent_id="i", token_id="t", condition_id="c", side=Side.BUY,
        shares=D("19.51"), avg_price=D("0.5"), fee_usd=D("0.243875"),
        filled_at=datetime(2026, 12, 1, tzinfo=UTC),
    )  # fmt: skip
    assert fill_text(fill, None) == "filled BUY 19.51 @ 0.500 for $9.76, fee $0.24"


def test_a_confidence_below_the_floor_reads_as_the_conf_column() -> None:
    from polytui.display import below

    assert below(D("0.4800"), D("0.55")) == "48% below 55%"
    assert below(D("0.548"), D("0.55")) == "54.8% below 55.0%"
