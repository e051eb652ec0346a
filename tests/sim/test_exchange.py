"""The simulator's exchange speaks CLOB V2: official vectors, the official client, the user channel.

Real loopback server, real HTTP and WebSocket clients. The official ``py-clob-client-v2`` is
synchronous, so its calls run in a worker thread while the simulator serves on the event loop.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from decimal import ROUND_DOWN, Decimal
from typing import Any

import httpx
import pytest
import websockets
from eth_account import Account
from eth_account.messages import encode_typed_data
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import (
    ApiCreds,
    AssetType,
    BalanceAllowanceParams,
    OrderArgsV2,
    OrderType,
    RequestArgs,
)
from py_clob_client_v2.exceptions import PolyApiException
from py_clob_client_v2.headers.headers import create_level_2_headers
from py_clob_client_v2.order_utils import ExchangeOrderBuilderV2, Side, SignatureTypeV2
from py_clob_client_v2.order_utils.model.order_data_v2 import (
    OrderDataV2,
    SignedOrderV2,
    order_to_json_v2,
)

from polytui.sim.server import SimServer
from polytui.sim.signing import (
    EXCHANGE_V2,
    NEG_RISK_EXCHANGE_V2,
    OrderV2,
    clob_auth_typed_data,
    hmac_signature,
    order_v1_typed_data,
    recover_clob_auth,
    recover_poly1271,
    recover_typed_data,
    typed_data_hash,
)
from tests.conftest import load_sample

VECTORS = load_sample("test_vectors.official.json")
KEY = VECTORS["private_key"]
ADDRESS = VECTORS["address"]
OTHER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
FEE_MARKET = 3  # crypto_fees_v2: rate 0.07, exponent 1, taker only; ends after 20 h


# --- official vectors -----------------------------------------------------------------------------


def test_hmac_reproduces_the_official_vector() -> None:
    v = VECTORS["hmac_l2"]
    got = hmac_signature(v["secret"], v["timestamp"], v["method"], v["path"], v["body"])
    assert got == v["expected"]


def test_clob_auth_signature_reproduces_the_official_vector() -> None:
    v = VECTORS["clob_auth_l1"]
    typed = clob_auth_typed_data(ADDRESS, v["message"]["timestamp"], 23, v["chain_id"])
    signed = Account.sign_message(encode_typed_data(full_message=typed), private_key=KEY)
    assert "0x" + signed.signature.hex() == v["expected_signature"]
    signer = recover_clob_auth(ADDRESS, "10000000", 23, v["expected_signature"], v["chain_id"])
    assert signer == ADDRESS


@pytest.mark.parametrize("name", ["order_v1_ctf_exchange_amoy", "order_v1_negrisk_exchange_amoy"])
def test_v1_order_hash_and_signer_reproduce_the_official_vectors(name: str) -> None:
    v = VECTORS[name]
    message = VECTORS["order_v1_ctf_exchange_amoy"]["message"]
    typed = order_v1_typed_data(message, v["domain"])
    assert typed_data_hash(typed) == v["expected_hash"]
    assert recover_typed_data(typed, v["expected_signature"]) == ADDRESS
    signed = Account.sign_message(encode_typed_data(full_message=typed), private_key=KEY)
    assert "0x" + signed.signature.hex() == v["expected_signature"]


def test_v2_poly1271_vector_struct_hash_and_wrapped_signer() -> None:
    v = VECTORS["order_v2_poly1271_amoy"]
    order = OrderV2.from_wire({**v["message"], "side": "BUY"})
    assert "0x" + order.struct_hash().hex() == v["v2_struct_hash"]
    signature = next(value for key, value in v.items() if key.startswith("expected_signature"))
    assert recover_poly1271(order, signature, v["domain"], 80002) == ADDRESS


# --- helpers --------------------------------------------------------------------------------------


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with SimServer("demo", seed=7, speed=20) as server:
        server.exchange.mined_after_s = 2.0  # 0.1 s wall at speed 20
        server.exchange.confirmed_after_s = 4.0
        server.exchange.retry_after_s = 2.0
        yield server


async def _client(sim: SimServer, key: str = KEY, **kwargs: Any) -> ClobClient:
    host = sim.urls["clob_rest_url"]
    creds = await asyncio.to_thread(ClobClient(host, 137, key=key).create_or_derive_api_key)
    return ClobClient(host, 137, key=key, creds=creds, **kwargs)


async def _user_ws(sim: SimServer, creds: ApiCreds) -> Any:
    ws = await websockets.connect(sim.urls["clob_user_ws_url"])
    auth = {"apiKey": creds.api_key, "secret": creds.api_secret, "passphrase": creds.api_passphrase}
    await ws.send(json.dumps({"auth": auth, "markets": [], "type": "user"}))
    return ws


async def _trade_statuses(ws: Any, until: set[str], timeout: float = 5.0) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while not until & set(seen) and time.monotonic() < deadline:
        event = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        if event["event_type"] == "trade":
            seen.append(event["status"])
    return seen


def _limit(sim: SimServer, token: str, side: str = "BUY") -> float:
    """A limit a few ticks through the touch: the book steps every 0.1 s wall at speed 20."""
    book = sim.rest_book(token)
    assert book is not None
    if side == "BUY":  # worst-first: the best ask is the last ask
        return min(0.99, round(float(book["asks"][-1]["price"]) + 0.05, 2))
    return max(0.01, round(float(book["bids"][-1]["price"]) - 0.05, 2))


async def _post(client: ClobClient, args: OrderArgsV2, order_type: str) -> dict[str, Any]:
    order = await asyncio.to_thread(client.create_order, args)
    result: dict[str, Any] = await asyncio.to_thread(client.post_order, order, order_type)
    return result


async def _balance(client: ClobClient) -> Decimal:
    params = BalanceAllowanceParams(asset_type=AssetType.COLLATERAL)
    reply = await asyncio.to_thread(client.get_balance_allowance, params)
    return Decimal(reply["balance"]) / 1_000_000


async def _raw_post(
    sim: SimServer, client: ClobClient, body: dict[str, Any], **header_overrides: str
) -> httpx.Response:
    """POST /order with L2 headers built by the official client (optionally tampered)."""
    text = json.dumps(body, separators=(",", ":"))
    assert client.creds is not None and client.signer is not None
    args = RequestArgs(method="POST", request_path="/order", body=body, serialized_body=text)
    headers = create_level_2_headers(client.signer, client.creds, args)
    headers.update(header_overrides)
    async with httpx.AsyncClient() as http:
        return await http.post(
            sim.urls["clob_rest_url"] + "/order",
            content=text,
            headers={**headers, "Content-Type": "application/json"},
        )


# --- order entry ----------------------------------------------------------------------------------


async def test_official_client_order_fills_and_settles_on_the_user_channel(sim: SimServer) -> None:
    client = await _client(sim)
    assert client.creds is not None
    ws = await _user_ws(sim, client.creds)
    market = sim.scenario.markets[FEE_MARKET]
    price = _limit(sim, market.yes_token)
    before = await _balance(client)
    args = OrderArgsV2(token_id=market.yes_token, price=price, size=10, side="BUY")
    reply = await _post(client, args, OrderType.FAK)
    assert reply["success"] is True and reply["status"] == "matched"
    assert reply["takingAmount"] == "10"
    assert reply["orderID"].startswith("0x") and len(reply["orderID"]) == 66
    statuses = await _trade_statuses(ws, {"CONFIRMED"})
    assert statuses == ["MATCHED", "MINED", "CONFIRMED"]
    await ws.close()
    trades = await asyncio.to_thread(client.get_trades)
    assert [t["status"] for t in trades] == ["TRADE_STATUS_CONFIRMED"]  # REST: prefixed
    fill = Decimal(trades[0]["price"])  # the book's price, at or better than the limit
    assert fill <= Decimal(str(price)) and Decimal(reply["makingAmount"]) == fill * 10
    fee = (10 * Decimal("0.07") * fill * (1 - fill)).quantize(Decimal("0.00001"), ROUND_DOWN)
    assert await _balance(client) == before - fill * 10 - fee
    assert trades[0]["taker_order_id"] == reply["orderID"] and trades[0]["trader_side"] == "TAKER"
    async with httpx.AsyncClient() as http:
        rows = (
            await http.get(sim.urls["data_api_url"] + "/positions", params={"user": ADDRESS})
        ).json()
        settled = (
            await http.get(sim.urls["data_api_url"] + "/trades", params={"user": ADDRESS})
        ).json()
    assert [(r["asset"], r["size"]) for r in rows] == [(market.yes_token, 10.0)]
    assert [r["transactionHash"] for r in settled] == reply["transactionsHashes"]


async def test_resting_order_is_listed_and_cancel_all_removes_it(sim: SimServer) -> None:
    client = await _client(sim)
    token = sim.scenario.markets[FEE_MARKET].yes_token
    reply = await _post(
        client, OrderArgsV2(token_id=token, price=0.05, size=10, side="BUY"), OrderType.GTC
    )
    assert reply["status"] == "live" and reply["makingAmount"] == ""
    orders = await asyncio.to_thread(client.get_open_orders)
    assert [(o["id"], o["status"], o["price"], o["original_size"]) for o in orders] == [
        (reply["orderID"], "ORDER_STATUS_LIVE", "0.05", "10")
    ]
    cancelled = await asyncio.to_thread(client.cancel_all)
    assert cancelled == {"canceled": [reply["orderID"]], "not_canceled": {}}
    assert await asyncio.to_thread(client.get_open_orders) == []


async def test_proxy_signature_type_with_funder_fills_against_the_funder(sim: SimServer) -> None:
    funder = "0x" + "ab" * 20
    client = await _client(sim, signature_type=1, funder=funder)
    token = sim.scenario.markets[2].yes_token
    args = OrderArgsV2(token_id=token, price=_limit(sim, token), size=5, side="BUY")
    assert (await _post(client, args, OrderType.FOK))["status"] == "matched"
    assert sim.exchange.accounts[funder].reserved_usd > 0  # the funder pays, not the signer
    other = await _client(sim, OTHER_KEY, signature_type=1, funder=funder)
    with pytest.raises(PolyApiException) as err:
        await _post(other, args, OrderType.FOK)  # someone else's funder
    assert err.value.status_code == 400 and err.value.error_msg == {"error": "invalid signature"}


# --- rejections -----------------------------------------------------------------------------------


def _signed(
    client: ClobClient,
    token: str,
    price: str,
    size: str,
    *,
    exchange: str = EXCHANGE_V2,
    version: str = "2",
) -> dict[str, Any]:
    """A BUY signed by the official V2 order builder, with overridable exchange and domain."""
    assert client.creds is not None and client.signer is not None
    builder = ExchangeOrderBuilderV2(exchange, 137, client.signer, domain_version=version)
    shares = Decimal(size)
    order = builder.build_signed_order(
        OrderDataV2(
            maker=ADDRESS,
            tokenId=token,
            makerAmount=str(int(shares * Decimal(price) * 1_000_000)),
            takerAmount=str(int(shares * 1_000_000)),
            side=Side.BUY,
            signer=ADDRESS,
            signatureType=SignatureTypeV2.EOA,
        )
    )
    return order_to_json_v2(order, client.creds.api_key, OrderType.GTC)


async def test_rejections_carry_the_real_errors(sim: SimServer) -> None:
    client = await _client(sim)
    token = sim.scenario.markets[FEE_MARKET].yes_token

    async def error(body: dict[str, Any], **headers: str) -> tuple[int, str]:
        reply = await _raw_post(sim, client, body, **headers)
        return reply.status_code, reply.json()["error"]

    good = _signed(client, token, "0.05", "10")
    bad_sig = json.loads(json.dumps(good))
    bad_sig["order"]["takerAmount"] = str(int(bad_sig["order"]["takerAmount"]) + 1_000_000)
    assert await error(bad_sig) == (400, "invalid signature")
    assert await error(_signed(client, token, "0.05", "10", version="1")) == (
        400,
        "invalid signature",
    )
    wrong_exchange = _signed(client, token, "0.05", "10", exchange=NEG_RISK_EXCHANGE_V2)
    assert await error(wrong_exchange) == (400, "invalid signature")
    tick = _signed(client, token, "0.523", "10")
    status, message = await error(tick)
    assert status == 400 and message.startswith("order 0x")
    assert message.endswith("is invalid. Price (0.523) breaks minimum tick size rule: 0.01")
    status, message = await error(_signed(client, token, "0.05", "2"))
    assert status == 400 and message.endswith("is invalid. Size (2) lower than the minimum: 5")
    v1 = json.loads(json.dumps(good))
    v1["order"].update({"taker": "0x" + "0" * 40, "nonce": "0", "feeRateBps": "0"})
    del v1["order"]["timestamp"]
    assert await error(v1) == (400, "order_version_mismatch")
    assert await error({**good, "owner": "someone-else"}) == (
        400,
        "the order owner has to be the owner of the API KEY",
    )
    assert await error({**good, "orderType": "GTD"}) == (400, "invalid expiration")
    sim.exchange.set_balance(ADDRESS, "0.10")
    assert await error(good) == (400, "not enough balance / allowance")
    sim.exchange.set_balance(ADDRESS, 1000)
    denied = (401, "Unauthorized/Invalid api key")
    assert await error(good, POLY_SIGNATURE="A" * 43 + "=") == denied
    assert await error(good, POLY_PASSPHRASE="nope") == denied
    stale = str(int(time.time()) - 3600)
    assert client.creds is not None
    text = json.dumps(good, separators=(",", ":"))
    stale_sig = hmac_signature(client.creds.api_secret, stale, "POST", "/order", text)
    assert await error(good, POLY_TIMESTAMP=stale, POLY_SIGNATURE=stale_sig) == denied
    async with httpx.AsyncClient() as http:
        bare = await http.post(sim.urls["clob_rest_url"] + "/order", content=text)
        assert (bare.status_code, bare.json()) == (401, {"error": denied[1]})
    assert (await _raw_post(sim, client, good)).json()["success"] is True
    status, message = await error(good)
    assert status == 400 and message.endswith("is invalid. Duplicated.")


async def test_fok_that_cannot_fill_is_killed_with_the_real_error(sim: SimServer) -> None:
    client = await _client(sim)
    token = sim.scenario.markets[FEE_MARKET].yes_token
    with pytest.raises(PolyApiException) as err:
        await _post(
            client, OrderArgsV2(token_id=token, price=0.05, size=30, side="BUY"), OrderType.FOK
        )
    assert err.value.error_msg == {
        "error": "order couldn't be fully filled. FOK orders are fully filled or killed."
    }


# --- fault knobs ----------------------------------------------------------------------------------


async def test_failed_match_leaves_balance_and_positions_unchanged(sim: SimServer) -> None:
    client = await _client(sim)
    assert client.creds is not None
    ws = await _user_ws(sim, client.creds)
    token = sim.scenario.markets[FEE_MARKET].yes_token
    before = await _balance(client)
    sim.exchange.fail_next_match()
    args = OrderArgsV2(token_id=token, price=_limit(sim, token), size=10, side="BUY")
    assert (await _post(client, args, OrderType.FAK))["status"] == "matched"
    assert await _trade_statuses(ws, {"FAILED"}) == ["MATCHED", "RETRYING", "FAILED"]
    await ws.close()
    assert await _balance(client) == before
    assert sim.exchange.positions(ADDRESS) == []
    assert [t["status"] for t in await asyncio.to_thread(client.get_trades)] == [
        "TRADE_STATUS_FAILED"
    ]


async def test_timed_out_post_is_found_by_querying_not_by_resending(sim: SimServer) -> None:
    client = await _client(sim)
    token = sim.scenario.markets[FEE_MARKET].yes_token
    body = _signed(client, token, str(_limit(sim, token)), "10")
    sim.exchange.delay_next_response(2.0)
    with pytest.raises(httpx.ReadTimeout):
        text = json.dumps(body, separators=(",", ":"))
        assert client.creds is not None and client.signer is not None
        args = RequestArgs("POST", "/order", body, text)
        headers = create_level_2_headers(client.signer, client.creds, args)
        async with httpx.AsyncClient(timeout=0.3) as http:
            await http.post(sim.urls["clob_rest_url"] + "/order", content=text, headers=headers)
    trades = await asyncio.to_thread(client.get_trades)
    assert len(trades) == 1 and trades[0]["size"] == "10"
    # The orderID is the EIP-712 order hash, so a client can compute it before it posts.
    wire = {**body["order"], "side": Side.BUY, "salt": str(body["order"]["salt"])}
    builder = ExchangeOrderBuilderV2(EXCHANGE_V2, 137, client.signer)
    local_id = builder.build_order_hash(builder.build_order_typed_data(SignedOrderV2(**wire)))
    assert trades[0]["taker_order_id"] == local_id
    order = await asyncio.to_thread(client.get_order, local_id)
    assert (order["status"], order["size_matched"]) == ("ORDER_STATUS_MATCHED", "10")
    assert len(sim.exchange.orders) == 1  # accepted once; a resend would be a duplicate


async def test_delayed_match_replies_delayed_then_matches(sim: SimServer) -> None:
    client = await _client(sim)
    assert client.creds is not None
    ws = await _user_ws(sim, client.creds)
    token = sim.scenario.markets[FEE_MARKET].yes_token
    sim.exchange.delay_next_match(0.3)
    args = OrderArgsV2(token_id=token, price=0.97, size=10, side="BUY")
    reply = await _post(client, args, OrderType.FAK)
    assert (reply["status"], reply["makingAmount"], reply["transactionsHashes"]) == (
        "delayed",
        "",
        [],
    )
    assert await _trade_statuses(ws, {"CONFIRMED"}) == ["MATCHED", "MINED", "CONFIRMED"]
    await ws.close()


async def test_seeded_order_and_position_show_up_for_reconciliation(sim: SimServer) -> None:
    token = sim.scenario.markets[FEE_MARKET].no_token
    order_id = sim.exchange.seed_open_order(ADDRESS, token, "BUY", "0.02", "50")
    sim.exchange.seed_position(ADDRESS, token, "25", "0.40")
    client = await _client(sim)
    orders = await asyncio.to_thread(client.get_open_orders)
    assert [(o["id"], o["original_size"], o["price"]) for o in orders] == [(order_id, "50", "0.02")]
    async with httpx.AsyncClient() as http:
        rows = (
            await http.get(sim.urls["data_api_url"] + "/positions", params={"user": ADDRESS})
        ).json()
        assert [(r["asset"], r["size"], r["avgPrice"]) for r in rows] == [(token, 25.0, 0.4)]
        knob = await http.post(
            f"http://{sim.host}:{sim.port}/sim/exchange/delay_next_match", json={"seconds": 1}
        )
        assert knob.json() == {"ok": True, "result": None}
    assert sim.exchange.pending_match_delay == 1.0


async def test_user_channel_refuses_bad_auth(sim: SimServer) -> None:
    async with websockets.connect(sim.urls["clob_user_ws_url"]) as ws:
        auth = {"apiKey": "nope", "secret": "x", "passphrase": "y"}
        await ws.send(json.dumps({"auth": auth, "type": "user"}))
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 2)


async def test_l1_auth_derives_deterministic_creds_and_refuses_bad_headers(sim: SimServer) -> None:
    host = sim.urls["clob_rest_url"]
    first = await asyncio.to_thread(ClobClient(host, 137, key=KEY).derive_api_key)
    again = await asyncio.to_thread(ClobClient(host, 137, key=KEY).create_or_derive_api_key)
    assert first == again and len(first.api_key) == 36
    other = await asyncio.to_thread(ClobClient(host, 137, key=OTHER_KEY).derive_api_key)
    assert other.api_key != first.api_key
    headers = {
        "POLY_ADDRESS": ADDRESS,
        "POLY_SIGNATURE": VECTORS["clob_auth_l1"]["expected_signature"],  # another chain and time
        "POLY_TIMESTAMP": str(int(time.time())),
        "POLY_NONCE": "0",
    }
    async with httpx.AsyncClient() as http:
        reply = await http.get(host + "/auth/derive-api-key", headers=headers)
    assert (reply.status_code, reply.json()) == (401, {"error": "Invalid L1 Request headers"})


async def test_sell_after_settlement_and_sell_without_shares(sim: SimServer) -> None:
    client = await _client(sim)
    assert client.creds is not None
    ws = await _user_ws(sim, client.creds)
    token = sim.scenario.markets[2].yes_token  # no fee schedule: proceeds are exact
    buy = OrderArgsV2(token_id=token, price=_limit(sim, token), size=10, side="BUY")
    with pytest.raises(PolyApiException) as err:
        await _post(client, OrderArgsV2(token_id=token, price=0.01, size=10, side="SELL"), "FAK")
    assert err.value.error_msg == {"error": "not enough balance / allowance"}
    await _post(client, buy, OrderType.FAK)
    await _trade_statuses(ws, {"MINED"})
    after_buy = await _balance(client)
    # The CLOB knows a token's approval only once it is refreshed for that token.
    with pytest.raises(PolyApiException) as err:
        await _post(client, OrderArgsV2(token_id=token, price=0.01, size=10, side="SELL"), "FAK")
    assert err.value.error_msg == {"error": "not enough balance / allowance"}
    refresh = BalanceAllowanceParams(asset_type=AssetType.CONDITIONAL, token_id=token)
    await asyncio.to_thread(client.update_balance_allowance, refresh)
    sell = OrderArgsV2(token_id=token, price=_limit(sim, token, "SELL"), size=10, side="SELL")
    reply = await _post(client, sell, OrderType.FAK)
    await _trade_statuses(ws, {"MINED"})
    await ws.close()
    sold = [t for t in await asyncio.to_thread(client.get_trades) if t["side"] == "SELL"]
    proceeds = Decimal(sold[0]["price"]) * 10
    assert (reply["makingAmount"], Decimal(reply["takingAmount"])) == ("10", proceeds)
    assert await _balance(client) == after_buy + proceeds
    assert sim.exchange.positions(ADDRESS) == []


async def test_resting_order_fills_as_maker_when_the_book_reaches_it(sim: SimServer) -> None:
    client = await _client(sim)
    assert client.creds is not None
    ws = await _user_ws(sim, client.creds)
    token = sim.scenario.markets[FEE_MARKET].yes_token
    reply = await _post(
        client, OrderArgsV2(token_id=token, price=0.05, size=10, side="BUY"), OrderType.GTC
    )
    order = sim.exchange.orders[reply["orderID"]]
    order.price = Decimal("0.99")  # as if the book had come down to it
    await sim.exchange.tick()
    statuses = await _trade_statuses(ws, {"CONFIRMED"})
    assert statuses == ["MATCHED", "MINED", "CONFIRMED"]
    await ws.close()
    trades = await asyncio.to_thread(client.get_trades)
    assert trades[0]["trader_side"] == "MAKER"
    assert trades[0]["maker_orders"][0]["order_id"] == reply["orderID"]
    assert order.status == "MATCHED"


@pytest.mark.parametrize("signature_type", [2, 3])
async def test_safe_and_deposit_wallet_orders_verify_and_fill(
    sim: SimServer, signature_type: int
) -> None:
    wallet = "0x" + "11" * 20
    client = await _client(sim, signature_type=signature_type, funder=wallet)
    token = sim.scenario.markets[2].no_token
    args = OrderArgsV2(token_id=token, price=_limit(sim, token), size=5, side="BUY")
    reply = await _post(client, args, OrderType.FAK)
    assert reply["status"] == "matched"
    assert sim.exchange.orders[reply["orderID"]].maker == wallet
    assert sim.exchange.funders[wallet] == ADDRESS.lower()


async def test_batch_post_and_order_events_on_the_user_channel(sim: SimServer) -> None:
    from py_clob_client_v2.clob_types import PostOrdersV2Args as PostOrdersArgs

    client = await _client(sim)
    assert client.creds is not None
    ws = await _user_ws(sim, client.creds)
    token = sim.scenario.markets[FEE_MARKET].yes_token
    resting = await asyncio.to_thread(
        client.create_order, OrderArgsV2(token_id=token, price=0.05, size=10, side="BUY")
    )
    tiny = await asyncio.to_thread(
        client.create_order, OrderArgsV2(token_id=token, price=0.05, size=1, side="BUY")
    )
    replies = await asyncio.to_thread(
        client.post_orders,
        [
            PostOrdersArgs(order=resting, orderType="GTC"),
            PostOrdersArgs(order=tiny, orderType="GTC"),
        ],
    )
    assert [r["success"] for r in replies] == [True, False]
    assert replies[1]["errorMsg"].endswith("Size (1) lower than the minimum: 5")
    placement = json.loads(await asyncio.wait_for(ws.recv(), 2))
    assert {k: placement[k] for k in ("event_type", "type", "status", "id", "order_owner")} == {
        "event_type": "order",
        "type": "PLACEMENT",
        "status": "LIVE",
        "id": replies[0]["orderID"],
        "order_owner": client.creds.api_key,
    }
    cancel = await asyncio.to_thread(client.cancel_orders, [replies[0]["orderID"], "0xdead"])
    assert cancel == {
        "canceled": [replies[0]["orderID"]],
        "not_canceled": {"0xdead": "order not found"},
    }
    event = json.loads(await asyncio.wait_for(ws.recv(), 2))
    assert (event["type"], event["status"]) == ("CANCELLATION", "CANCELED")
    await ws.close()
