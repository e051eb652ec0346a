"""Backtests: the real parsers, engine, strategy, RiskGuard and paper broker on a virtual clock,
fed by a simulated world whose truth is known, scored against that truth."""
