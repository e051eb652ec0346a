"""Settings dataclasses: every section of config.toml with its default.

Loading, validation and the ``init`` writer live in ``polytui.config``; this module only says
what the settings are, so every layer can import them cheaply. Money limits are Decimal. Secrets
are never settings: a setting may only name the environment variable that holds one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

# Public endpoints (PROTOCOL.md §1-§4).
CLOB_WS_URL = "wss://ws-subscriptions-clob.polymarket.com/ws/market"
CLOB_USER_WS_URL = "wss://ws-subscriptions-clob.polymarket.com/ws/user"
RTDS_WS_URL = "wss://ws-live-data.polymarket.com"
GAMMA_URL = "https://gamma-api.polymarket.com"
DATA_API_URL = "https://data-api.polymarket.com"
CLOB_REST_URL = "https://clob.polymarket.com"

# CLOB V2 exchanges (live since 2026-04-28) and V1 (history only), PROTOCOL.md §0.
EXCHANGE_V2 = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK_EXCHANGE_V2 = "0xe2222d279d744050d28e00520010520000310F59"
EXCHANGE_V1 = "0x4bFb41d5B3570DeFd03C39a9A4D8dE6Bd8B8982E"
NEG_RISK_EXCHANGE_V1 = "0xC5d563A36AE78145C45a50134d48A1215220f80a"


@dataclass(slots=True)
class FeedSettings:
    """``[feeds]``: endpoints and connection behaviour."""

    clob_ws_url: str = CLOB_WS_URL
    clob_user_ws_url: str = CLOB_USER_WS_URL
    rtds_ws_url: str = RTDS_WS_URL
    gamma_url: str = GAMMA_URL
    data_api_url: str = DATA_API_URL
    clob_rest_url: str = CLOB_REST_URL
    # Name of the environment variable holding the Polygon WebSocket RPC URL (it may embed a
    # key, so it is never stored in config).
    polygon_ws_env: str = "POLYTUI_POLYGON_WS"
    exchange_addresses: list[str] = field(
        default_factory=lambda: [EXCHANGE_V2, NEG_RISK_EXCHANGE_V2]
    )
    legacy_exchange_addresses: list[str] = field(
        default_factory=lambda: [EXCHANGE_V1, NEG_RISK_EXCHANGE_V1]
    )
    chain_enabled: bool = True
    # Pending matchOrders transactions on the same node (tentative whale trades, ~0.65 s after
    # the match): on when the node URL is set, the chain source runs (its logs confirm them)
    # and the node answers the full pending-transaction subscription.
    mempool_enabled: bool = True
    activity_enabled: bool = True
    dataapi_poll_enabled: bool = True
    dataapi_poll_s: float = 15.0
    backoff_initial_s: float = 0.5
    backoff_cap_s: float = 30.0
    clob_ping_s: float = 10.0
    rtds_ping_s: float = 5.0
    clob_silence_s: float = 60.0
    # Market-channel connections hold at most this many tokens each (more have stalled
    # silently); past it a second connection opens, with its own watchdog and health row.
    clob_max_assets_per_connection: int = 200
    # A token nobody traded in this long, not held, ordered or awaiting approval, is
    # unsubscribed (tokens of settled or closed markets at once).
    clob_idle_unsubscribe_s: float = 1800.0
    rtds_silence_s: float = 15.0
    # RTDS activity/trades is best effort (no longer documented): after two connections in a
    # row with no data the retries slow down, doubling from rtds_silence_s up to this.
    rtds_quiet_retry_max_s: float = 900.0
    chain_silence_s: float = 60.0
    http_timeout_s: float = 10.0
    market_cache_ttl_s: float = 300.0
    # Markets kept warm (metadata cached, books subscribed) because a watched wallet holds them
    # or traded them lately, at most this many (least recently relevant out first; 0 = off),
    # asked of the data-api again every warm_refresh_s.
    warm_markets_max: int = 100
    warm_refresh_s: float = 120.0
    # Seconds between polls of the result of held or watched markets past their end (Gamma,
    # CLOB, data-api), so a missed or never-sent market_resolved still settles.
    resolution_poll_s: float = 30.0
    # After a restart, whale trades missed while down and at most this old are caught up (chain
    # backfill from the saved block, data-api fills newer than the saved mark); 0 turns it off.
    catch_up_s: float = 600.0


@dataclass(slots=True)
class WhaleSettings:
    """``[whales]``: which wallets to copy."""

    wallets: list[str] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    discovery: bool = False
    min_trade_usd: Decimal = Decimal(500)


@dataclass(slots=True)
class StrategySettings:
    """``[strategy]``: turning whale trades into sized intents."""

    # A copy needs its net edge per share (cautious end, see README) above this margin.
    min_net_edge: Decimal = Decimal("0.01")
    # Standard errors between an estimate and the bound that is used (95 % one-sided).
    confidence_z: Decimal = Decimal("1.645")
    # A wallet with no history has this edge per share, worth prior_weight resolved buys.
    # Above 0 copies wallets nobody has measured: meant for the simulator's demo and tests.
    prior_edge: Decimal = Decimal(0)
    prior_weight: int = 10
    # Samples a wallet's latency tax in one kind of market is worth before its own count.
    tax_prior_weight: int = 5
    cluster_size: int = 3
    cluster_window_s: float = 1800.0
    # Each other cluster member with a positive edge bound adds this share of it.
    cluster_weight: Decimal = Decimal("0.5")
    dedup_ttl_s: float = 1800.0
    # A whale trade matched longer ago than this is only observed, never sized: its price is
    # history. Trades caught up after a restart are bounded by [feeds] catch_up_s instead.
    max_trade_age_s: float = 120.0
    kelly_fraction: Decimal = Decimal("0.25")
    # At most this share of cash on one copy, whatever Kelly says.
    kelly_cap: Decimal = Decimal("0.1")
    max_bet_usd: Decimal = Decimal(10)
    # Of each exposure limit, this share is kept for copies with a net edge per dollar of at
    # least strong_edge_per_usd (weaker ones may use less of it, in proportion).
    reserve_share: Decimal = Decimal("0.3")
    strong_edge_per_usd: Decimal = Decimal("0.2")
    copy_whale_sells: bool = False


@dataclass(slots=True)
class RiskSettings:
    """``[risk]``: hard limits RiskGuard enforces on every path to a broker."""

    max_total_exposure_usd: Decimal = Decimal(50)
    max_market_exposure_usd: Decimal = Decimal(15)
    max_daily_loss_usd: Decimal = Decimal(20)
    max_open_positions: int = 10
    min_entry_price: Decimal = Decimal("0.05")
    max_entry_price: Decimal = Decimal("0.95")
    min_time_to_resolution_s: float = 300.0
    stale_feed_halt_s: float = 30.0


# What ``[approval] policy`` and its per-wallet overrides may say; validation refuses the rest.
POLICIES = ("manual", "auto", "observe")


@dataclass(slots=True)
class ApprovalSettings:
    """``[approval]``: who says yes. manual (keys), auto (within limits) or observe."""

    policy: str = "manual"
    per_wallet: dict[str, str] = field(default_factory=dict)
    ttl_s: float = 30.0


@dataclass(slots=True)
class PaperSettings:
    """``[paper]``: the friction model of the paper broker."""

    starting_balance_usd: Decimal = Decimal(100)
    latency_ms: int = 250
    slippage_cap: Decimal = Decimal("0.02")
    order_type: str = "FAK"
    fallback_fee_rate: Decimal = Decimal(0)
    fallback_fee_exponent: int = 1
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None


@dataclass(slots=True)
class StorageSettings:
    """``[storage]``: where journals and backups live (XDG data dir by default)."""

    data_dir: Path | None = None
    backups: int = 5


@dataclass(slots=True)
class DaemonSettings:
    """``[daemon]``: headless operation."""

    socket_path: Path | None = None
    log_file: Path | None = None
    log_level: str = "INFO"
    # SIGTERM waits this long for orders in flight and the journal before cancelling.
    stop_timeout_s: float = 20.0


@dataclass(slots=True)
class LiveSettings:
    """``[live]``: CLOB V2 order placement. Keys come only from the environment."""

    signature_type: str = "EOA"
    funder: str = ""
    order_type: str = "FAK"
    exit_order_type: str = "GTC"
    private_key_env: str = "POLYTUI_PRIVATE_KEY"
    api_key_env: str = "POLYTUI_API_KEY"
    api_secret_env: str = "POLYTUI_API_SECRET"
    api_passphrase_env: str = "POLYTUI_API_PASSPHRASE"
    chain_id: int = 137
    # An order POST with no answer after this long is reconciled, never sent again.
    post_timeout_s: float = 5.0
    # How long an order is followed to CONFIRMED / FAILED before the report goes back.
    confirm_timeout_s: float = 60.0
    # Start-up refuses to trade when the clock differs from the CLOB's by more than this.
    max_clock_skew_s: float = 5.0
    # A GTD exit lives this long: the CLOB ends a GTD order a minute before the expiry it is
    # signed with, so the expiry is now + 60 + this (at least 150: the CLOB wants 3 minutes).
    exit_gtd_s: int = 300
    # POST /v1/heartbeats this often while live: once they start, the CLOB cancels every open
    # order of the account when none comes for 10 s (a crash leaves nothing resting). 0: off.
    heartbeat_s: float = 5.0
    # A live order's limit is at most this much worse per share than the price it was sized
    # on (entries: above, exits: below the bid); the CLOB never fills past it. Only this key
    # sets live limits: ``paper.slippage_cap`` is the paper broker's friction model.
    slippage_cap: Decimal = Decimal("0.02")


@dataclass(slots=True)
class HistorySettings:
    """``[history]``: whale profiles from the data-api's history (``polytui whales``)."""

    # Empty: [feeds] data_api_url. Point it elsewhere (the simulator) to profile from there.
    data_api_url: str = ""
    # A copy is priced at each delay after the whale's fill; ``source_latency_s`` is yours.
    copy_delays_s: list[float] = field(default_factory=lambda: [0.65, 2.0, 5.0, 15.0])
    source_latency_s: float = 2.0
    # Fewer settled bets than this: never called copyable.
    min_resolved: int = 20
    # The data-api's published limits (requests per 10 s): overall, /trades, positions.
    requests_per_10s: int = 1000
    trades_per_10s: int = 200
    positions_per_10s: int = 150
    # Pages of market prints fetched per window after a whale's buy (1,000 prints a page).
    tape_pages: int = 1
    # Candidates `polytui whales discover` profiles and ranks.
    discover_limit: int = 20


# What ``[telegram] events`` may name: each one is a kind of message the bot sends.
TELEGRAM_EVENTS = ("approvals", "fills", "risk", "halts", "feeds", "summary")
TELEGRAM_API_URL = "https://api.telegram.org"


@dataclass(slots=True)
class TelegramSettings:
    """``[telegram]``: alerts, approvals and commands through a Telegram bot (off by default).

    The bot token is a secret and comes only from the environment variable named here. Only the
    listed chats may use the bot; everything from any other chat or user is refused and logged.
    """

    enabled: bool = False
    bot_token_env: str = "POLYTUI_TELEGRAM_TOKEN"
    allowed_chat_ids: list[int] = field(default_factory=list)
    api_base_url: str = TELEGRAM_API_URL
    events: list[str] = field(default_factory=lambda: list(TELEGRAM_EVENTS))
    # A feed down (or degraded) longer than this is reported once, and again when it is back.
    feed_down_alert_s: float = 120.0
    # The daily summary goes out at this UTC time ("HH:MM").
    summary_at_utc: str = "20:00"
    # Seconds one getUpdates call waits for news (Telegram's long polling).
    poll_timeout_s: int = 25
    # Messages waiting to be sent; past this the oldest waiting one is dropped and counted.
    queue_size: int = 200


@dataclass(slots=True)
class MetricsSettings:
    """``[metrics]``: a Prometheus endpoint, off while ``listen`` is empty."""

    # "127.0.0.1:9464" serves /metrics there; "" (the default) serves nothing.
    listen: str = ""


@dataclass(slots=True)
class AdvisorEntry:
    """One ``[[advisors.entries]]`` table: a language model behind an official SDK."""

    # "anthropic" (Messages API) or "openai" (chat completions: any OpenAI-compatible server,
    # hosted or local, e.g. Ollama on http://localhost:11434/v1).
    kind: str = "anthropic"
    model: str = ""
    # Shown in health and the journal; default "kind:model".
    name: str = ""
    # Empty: the SDK's default endpoint.
    base_url: str = ""
    # The environment variable holding the API key (never the key itself). Empty: a local
    # server that wants none.
    api_key_env: str = ""
    # One request's HTTP timeout; an answer after advisors.budget_ms is journaled and ignored.
    timeout_s: float = 10.0
    weight: Decimal = Decimal(1)
    # Prices in USD per million tokens, for the journal's cost and the daily cost cap.
    usd_per_mtok_in: Decimal = Decimal(0)
    usd_per_mtok_out: Decimal = Decimal(0)

    @property
    def label(self) -> str:
        """The advisor's display name."""
        return self.name or f"{self.kind}:{self.model}"


@dataclass(slots=True)
class AdvisorSettings:
    """``[advisors]``: optional second opinions from language models (off by default)."""

    enabled: bool = False
    # A decision never waits longer than this for the advisors' answers.
    budget_ms: int = 1500
    # The consensus moves the strategy's win-probability estimate by at most this much.
    max_shift: Decimal = Decimal("0.05")
    # Answers further apart than this (max - min probability) move nothing: no consensus.
    max_spread: Decimal = Decimal("0.25")
    max_output_tokens: int = 600
    # Calls stop for the UTC day once either is reached (0: no cap of that kind).
    daily_token_cap: int = 200_000
    daily_cost_cap_usd: Decimal = Decimal(1)
    entries: list[AdvisorEntry] = field(default_factory=list)


@dataclass(slots=True)
class Settings:
    """The whole configuration."""

    # Top-level ``mode``: "paper" (default) or "live". Live also needs ``--live`` on the command
    # line and a typed confirmation at start.
    mode: str = "paper"
    feeds: FeedSettings = field(default_factory=FeedSettings)
    whales: WhaleSettings = field(default_factory=WhaleSettings)
    strategy: StrategySettings = field(default_factory=StrategySettings)
    risk: RiskSettings = field(default_factory=RiskSettings)
    approval: ApprovalSettings = field(default_factory=ApprovalSettings)
    paper: PaperSettings = field(default_factory=PaperSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    daemon: DaemonSettings = field(default_factory=DaemonSettings)
    live: LiveSettings = field(default_factory=LiveSettings)
    history: HistorySettings = field(default_factory=HistorySettings)
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    advisors: AdvisorSettings = field(default_factory=AdvisorSettings)

    @property
    def order_slippage_cap(self) -> Decimal:
        """The slippage cap that sets order limit prices for the broker this mode trades with."""
        return self.live.slippage_cap if self.mode == "live" else self.paper.slippage_cap
