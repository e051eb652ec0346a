"""Strategy: dedup, wallet scoring, clusters, confidence, Kelly sizing, RiskGuard, approvals."""
