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
    assert good.win_rate == min(D("0.95"), D("0.5") + 2 * copy.stat.edge) > D("0.5")
    assert good.weight == 40  # 80 settled buys, capped
    assert not bad.copyable and bad.win_rate <= D("0.5")
    scorer = WalletScorer(D("0.5"), 10)
    assert scorer.win_rate(slow.wallet) == D("0.5")  # the old behaviour: the global prior
    scorer.set_priors({slow.wallet: good, fast.wallet: bad})
    assert scorer.win_rate(slow.wallet) == good.win_rate
    assert scorer.win_rate(fast.wallet) == bad.win_rate


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
