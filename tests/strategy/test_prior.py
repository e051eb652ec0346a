"""A saved history profile is a newly watched wallet's prior, by its copy edge."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from polytui.journal import Journal
from polytui.strategy.prior import prior_from_profile, priors_from_journal
from polytui.strategy.scoring import WalletScorer
from tests.whales.helpers import wallet
from tests.whales.test_profile import _informed


def test_a_copyable_history_raises_the_prior_and_a_fast_one_does_not() -> None:
    slow = _informed(wallet(3), fast=False, seed=5)
    fast = _informed(wallet(2), fast=True, seed=5)
    good = prior_from_profile(slow, latency_s=2.0, max_weight=40)
    bad = prior_from_profile(fast, latency_s=2.0, max_weight=40)
    copy = slow.copy_at(2.0)
    assert copy is not None and good.copy_edge == copy.stat.edge
    assert good.edge == slow.record.edge > 0  # its price-adjusted edge over its history
    assert good.tax == max(D(0), slow.record.edge - copy.stat.edge)
    assert good.weight == 40  # 80 settled buys, capped
    assert not bad.copyable and bad.edge <= 0
    scorer = WalletScorer(D(0), 10)
    assert scorer.whale_edge(slow.wallet).mean == 0  # no history: zero edge
    scorer.set_priors({slow.wallet: good, fast.wallet: bad})
    assert scorer.whale_edge(slow.wallet).mean == good.edge.quantize(D("0.000001"))
    assert scorer.whale_edge(fast.wallet).mean <= 0
    assert scorer.tax(slow.wallet, "sports").mean == good.tax.quantize(D("0.000001"))


def test_priors_come_from_the_profiles_saved_in_the_journal(tmp_path: Path) -> None:
    profile = _informed(wallet(3), fast=False, seed=5)
    journal = Journal.open(tmp_path / "paper.db", mode="paper")
    journal.put_wallet_profile(profile.wallet, profile.to_record())
    journal.put_wallet_profile(wallet(9), {"wallet": "from another version"})
    journal.flush()
    priors = priors_from_journal(journal, latency_s=2.0, max_weight=40)
    assert set(priors) == {profile.wallet}
    assert priors[profile.wallet] == prior_from_profile(profile, latency_s=2.0, max_weight=40)
    journal.close()


def test_a_prior_is_worth_what_its_standard_error_says_and_never_more_buys_than_it_settled() -> (
    None
):
    from polytui.strategy.edge import VAR0, EdgeAcc
    from polytui.strategy.prior import evidence_weight

    assert evidence_weight(500, D("0.05")) == 100  # 0.25 / 0.0025
    assert evidence_weight(50, D("0.01")) == 50  # a tight record: capped at its bets
    assert evidence_weight(30, None) == 30  # no finite spread: its bets
    slow = _informed(wallet(3), fast=False, seed=5)
    prior = prior_from_profile(slow, latency_s=2.0)
    se = slow.record.se
    assert se is not None and prior.weight == min(slow.record.n, int(VAR0 / (se * se)))
    # Before any live trade the scorer is exactly as unsure as the profile (to rounding).
    alone = EdgeAcc().estimate(prior.edge, prior.weight)
    assert abs(alone.se - se) <= se * D("0.05") + D("0.000002")
