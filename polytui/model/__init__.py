"""Frozen domain types shared by every layer.

Wire formats are parsed once, at the feed boundary, into these types; nothing downstream sees a
raw JSON dict. Prices and share counts are ``Decimal`` (never binary floats); USD amounts are
``Decimal`` with 6 decimal places at most (pUSD has 6 decimals, PROTOCOL.md §5). Names follow
Polymarket's own (``token_id``, ``condition_id``, ``proxy_wallet``).

``from polytui.model import X`` reaches every type; each lives in the module of its concern:

- ``market``: markets, fee schedules, resolutions and book tops.
- ``orders``: the side, trade intents, orders and fills.
- ``signals``: whale trades and the signals scored from them.
- ``accounts``: positions, the portfolio view, P&L and risk limits.
- ``status``: feed and engine status, command results.
- ``ids``: the short ids (``ord-1a2b3c4d``) everything the console creates carries.
- ``records``: the journal form of orders, fills and intents.
- ``history``: the data-api's history (fills, activity, closed positions, settlements) the whale
  profiles read; imported from ``polytui.model.history``, not re-exported here.
"""

# The number rules live in polytui.amounts; re-exported here, where the types that use them are.
from polytui.amounts import CENT as CENT
from polytui.amounts import MAX_SHARES as MAX_SHARES
from polytui.amounts import MICRO as MICRO
from polytui.amounts import ONE as ONE
from polytui.amounts import ZERO as ZERO
from polytui.amounts import BadValue as BadValue
from polytui.amounts import floor_to as floor_to
from polytui.amounts import from_micro as from_micro
from polytui.amounts import parse_decimal as parse_decimal
from polytui.amounts import parse_price as parse_price
from polytui.amounts import parse_shares as parse_shares
from polytui.amounts import to_micro as to_micro
from polytui.amounts import usd as usd
from polytui.model.accounts import LimitUse as LimitUse
from polytui.model.accounts import PnLSnapshot as PnLSnapshot
from polytui.model.accounts import PortfolioView as PortfolioView
from polytui.model.accounts import Position as Position
from polytui.model.accounts import RiskDecision as RiskDecision
from polytui.model.accounts import RiskSnapshot as RiskSnapshot
from polytui.model.accounts import Verdict as Verdict
from polytui.model.ids import new_id as new_id
from polytui.model.market import PROTOCOL_V2_UNSUPPORTED as PROTOCOL_V2_UNSUPPORTED
from polytui.model.market import BookTop as BookTop
from polytui.model.market import FeeSchedule as FeeSchedule
from polytui.model.market import Market as Market
from polytui.model.market import Outcome as Outcome
from polytui.model.market import PriceLevel as PriceLevel
from polytui.model.market import Resolution as Resolution
from polytui.model.orders import Fill as Fill
from polytui.model.orders import IntentStatus as IntentStatus
from polytui.model.orders import Order as Order
from polytui.model.orders import OrderStatus as OrderStatus
from polytui.model.orders import OrderType as OrderType
from polytui.model.orders import Side as Side
from polytui.model.orders import TradeIntent as TradeIntent
from polytui.model.signals import Role as Role
from polytui.model.signals import Signal as Signal
from polytui.model.signals import SignalStatus as SignalStatus
from polytui.model.signals import TradeSource as TradeSource
from polytui.model.signals import WhaleTrade as WhaleTrade
from polytui.model.status import CommandResult as CommandResult
from polytui.model.status import EngineState as EngineState
from polytui.model.status import FeedState as FeedState
from polytui.model.status import FeedStatus as FeedStatus
