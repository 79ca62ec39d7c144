"""CONTRACT §13 through HTTP, on SQLite and on PostgreSQL + Redis: fees and the ledger,
balances, payouts, disputes, their roles, events and the CSV report. Every test here moves
money, so the ledger's invariant is checked after each (`ledger_invariant`)."""

from __future__ import annotations

import asyncio
import csv
import io
import json

from tests.helpers import (
    CAPTURE,
    EVENTS,
    REFUND,
    add_member,
    confirm,
    create_intent,
    error_code,
    gql,
    paid_intent,
    payload_of,
    set_webhook_url,
    user_error_codes,
)
from tests.money_helpers import (
    ACCEPT_DISPUTE,
    BALANCE,
    CREATE_PAYOUT,
    DISPUTE,
    DISPUTE_CARD,
    DISPUTES,
    FAILING_IBAN,
    GOOD_IBAN,
    INTENT_MONEY,
    PAYOUT,
    PAYOUTS,
    SUBMIT_EVIDENCE,
    balance_of,
    create_payout,
    set_payout_destination,
    transactions,
)
from tests.receiver import wait_for

SETTLEMENT = 2  # seconds: tests.conftest.FAST_MONEY


async def intent_money(client, shop, intent_id: str, **credentials) -> dict:
    body = await gql(client, INTENT_MONEY, {"id": intent_id},
                     **(credentials or {"api_key": shop.api_key}))
    assert "errors" not in body, body
    return body["data"]["paymentIntent"]


async def test_a_capture_writes_its_charge_with_the_fee(client, shop):
    intent = await paid_intent(client, shop, amount=10_000)
    money = await intent_money(client, shop, intent["id"])
    assert money["fee"] == 320  # round-half-up(10000 × 2.9%) + 30
    [charge] = money["balanceTransactions"]
    assert charge["type"] == "CHARGE" and charge["paymentIntentId"] == intent["id"]
    assert (charge["amount"], charge["fee"], charge["net"]) == (10_000, 320, 9_680)
    assert charge["status"] == "PENDING" and charge["currency"] == "USD"
    assert await balance_of(client, shop) == {"available": {"USD": 0},
                                              "pending": {"USD": 9_680}}


async def test_fee_is_null_until_a_manual_capture(client, shop):
    intent = await paid_intent(client, shop, amount=5_000, captureMethod="MANUAL")
    assert (await intent_money(client, shop, intent["id"]))["fee"] is None
    assert await balance_of(client, shop) == {"available": {}, "pending": {}}
    captured = payload_of(await gql(client, CAPTURE, {"input": {"id": intent["id"],
                                                                "amount": 3_000}},
                                    api_key=shop.api_key), "capturePaymentIntent")
    assert captured["userErrors"] == []
    money = await intent_money(client, shop, intent["id"])
    assert money["fee"] == 117  # 87 + 30
    assert [row["amount"] for row in money["balanceTransactions"]] == [3_000]


async def test_refunds_write_refund_rows_at_once(client, shop):
    intent = await paid_intent(client, shop, amount=10_000)
    refunded = payload_of(await gql(client, REFUND, {"input": {"id": intent["id"],
                                                               "amount": 2_500}},
                                    api_key=shop.api_key), "refundPaymentIntent")
    assert refunded["userErrors"] == []
    rows = await transactions(client, shop, paymentIntentId=intent["id"])
    refund = rows[0]
    assert refund["type"] == "REFUND" and refund["status"] == "AVAILABLE"
    assert (refund["amount"], refund["fee"], refund["net"]) == (-2_500, 0, -2_500)
    assert refund["refundId"] == refunded["refund"]["id"]
    assert await balance_of(client, shop) == {"available": {"USD": -2_500},
                                              "pending": {"USD": 9_680}}


async def test_transactions_page_and_filter(client, shop):
    for amount in (1_000, 2_000, 3_000):
        await paid_intent(client, shop, amount=amount)
    rows = await transactions(client, shop)
    assert [row["amount"] for row in rows] == [3_000, 2_000, 1_000]  # newest first
    body = await gql(client, """query($first: Int, $after: String) {
      balanceTransactions(first: $first, after: $after) { edges { cursor node { amount } }
      pageInfo { hasNextPage endCursor } } }""", {"first": 2}, api_key=shop.api_key)
    first_page = body["data"]["balanceTransactions"]
    assert first_page["pageInfo"]["hasNextPage"] is True
    body = await gql(client, """query($after: String) { balanceTransactions(after: $after) {
      edges { node { amount } } } }""", {"after": first_page["pageInfo"]["endCursor"]},
                     api_key=shop.api_key)
    assert [e["node"]["amount"] for e in body["data"]["balanceTransactions"]["edges"]] == [1_000]
    middle = rows[1]["createdAt"]
    assert [r["amount"] for r in await transactions(client, shop, createdAfter=middle)] == \
        [3_000, 2_000]  # inclusive
    assert [r["amount"] for r in await transactions(client, shop, createdBefore=middle)] == \
        [1_000]  # exclusive
    assert await transactions(client, shop, type="REFUND") == []
    bad = await gql(client, "{ balanceTransactions(after: \"nonsense\") { edges { cursor } } }",
                    api_key=shop.api_key)
    assert error_code(bad) == "VALIDATION_ERROR"


async def test_who_may_read_and_move_money(client, shop):
    intent = await paid_intent(client, shop, amount=10_000)
    staff = await add_member(client, shop.owner, shop.merchant_id, "STAFF")
    manager = await add_member(client, shop.owner, shop.merchant_id, "MANAGER")
    seen_by_staff = await intent_money(client, shop, intent["id"], token=staff.token)
    assert seen_by_staff["fee"] is None and seen_by_staff["balanceTransactions"] == []
    assert seen_by_staff["disputes"] == []
    refused = await gql(client, BALANCE, {"merchantId": shop.merchant_id}, token=staff.token)
    assert error_code(refused) == "FORBIDDEN"
    allowed = await gql(client, BALANCE, {"merchantId": shop.merchant_id},
                        token=manager.token)
    assert allowed["data"]["balance"]["pending"] == [{"amount": 9_680, "currency": "USD"}]
    by_manager = await gql(client, CREATE_PAYOUT, {"input": {
        "merchantId": shop.merchant_id, "currency": "USD"}}, token=manager.token)
    assert error_code(by_manager) == "FORBIDDEN"
    by_key = await gql(client, """mutation($input: UpdateMerchantSettingsInput!) {
      updateMerchantSettings(input: $input) { userErrors { code } } }""", {"input": {
        "merchantId": shop.merchant_id, "payoutDestination": GOOD_IBAN}}, api_key=shop.api_key)
    assert error_code(by_key) == "FORBIDDEN"
    other = await gql(client, BALANCE, {"merchantId": "mer_someoneelse"}, token=manager.token)
    assert error_code(other) == "NOT_FOUND"


async def test_where_payouts_go_is_shown_to_those_who_see_the_money(client, shop):
    await set_payout_destination(client, shop, GOOD_IBAN)
    staff = await add_member(client, shop.owner, shop.merchant_id, "STAFF")
    manager = await add_member(client, shop.owner, shop.merchant_id, "MANAGER")
    query = """query($id: ID!) { merchant(id: $id) { settings {
      defaultCurrency payoutDestinationLast4 } } }"""
    seen = {}
    for name, member in (("owner", shop.owner), ("manager", manager), ("staff", staff)):
        body = await gql(client, query, {"id": shop.merchant_id}, token=member.token)
        seen[name] = body["data"]["merchant"]["settings"]
    assert seen["owner"]["payoutDestinationLast4"] == "3000"
    assert seen["manager"]["payoutDestinationLast4"] == "3000"
    assert seen["staff"] == {"defaultCurrency": "USD", "payoutDestinationLast4": None}


async def test_payout_settings_keep_the_iban_encrypted(client, shop, settings):
    bad = await set_payout_destination(client, shop, "DE00 3704 0044 0532 0130 00")
    assert bad["userErrors"][0]["code"] == "VALIDATION_ERROR"
    assert bad["userErrors"][0]["field"] == ["input", "payoutDestination"]
    saved = await set_payout_destination(client, shop, GOOD_IBAN.lower(), "MANUAL")
    assert saved["settings"] == {"payoutSchedule": "MANUAL", "payoutDestinationLast4": "3000"}
    from models.merchants import Merchant

    stored = await Merchant.get(id=shop.merchant_id)
    assert "370400440532013000" not in (stored.payout_destination or "")
    from resolvers.money.settings import destination_of

    assert destination_of(stored) == "DE89370400440532013000"


async def test_create_payout_refusals(client, shop):
    assert user_error_codes(await create_payout(client, shop)) == ["INVALID_STATE"]  # no IBAN
    await set_payout_destination(client, shop, GOOD_IBAN)
    assert user_error_codes(await create_payout(client, shop)) == ["INVALID_STATE"]  # nothing
    assert user_error_codes(await create_payout(client, shop, amount=0)) == ["VALIDATION_ERROR"]
    assert user_error_codes(await create_payout(client, shop, currency="XXX")) == \
        ["VALIDATION_ERROR"]


async def test_a_payout_takes_what_is_available_once_per_key(client, shop, inbox, worker):
    await set_webhook_url(client, shop, inbox.url)
    await set_payout_destination(client, shop, GOOD_IBAN, "MANUAL")
    await paid_intent(client, shop, amount=10_000)
    assert user_error_codes(await create_payout(client, shop)) == ["INVALID_STATE"]  # pending
    await asyncio.sleep(SETTLEMENT)
    too_much = await create_payout(client, shop, amount=9_681)
    assert user_error_codes(too_much) == ["INVALID_STATE"]
    first = await create_payout(client, shop, amount=4_000, idempotencyKey="po-1")
    again = await create_payout(client, shop, amount=4_000, idempotencyKey="po-1")
    assert first["userErrors"] == [] and again["payout"]["id"] == first["payout"]["id"]
    other = await create_payout(client, shop, amount=1, idempotencyKey="po-1")
    assert user_error_codes(other) == ["IDEMPOTENCY_KEY_REUSED"]
    payout = first["payout"]
    assert payout["status"] == "IN_TRANSIT" and payout["destinationLast4"] == "3000"
    assert payout["automatic"] is False
    assert await balance_of(client, shop) == {"available": {"USD": 5_680},
                                              "pending": {"USD": 0}}
    rows = await transactions(client, shop, payoutId=payout["id"])
    assert [(r["type"], r["amount"], r["net"]) for r in rows] == [("PAYOUT", -4_000, -4_000)]
    paid = await wait_for(lambda: _payout_status(client, shop, payout["id"], "PAID"))
    assert paid["failureCode"] is None
    await wait_for(lambda: inbox.bodies_of_type("payout.paid"))
    created = json.loads(inbox.bodies_of_type("payout.created")[0].body)
    assert created["data"]["object"]["id"] == payout["id"]
    assert created["data"]["object"]["destination_last4"] == "3000"


async def _payout_status(client, shop, payout_id: str, status: str) -> dict | None:
    found = (await gql(client, PAYOUT, {"id": payout_id}, api_key=shop.api_key))["data"]
    return found["payout"] if found["payout"]["status"] == status else None


async def test_a_failing_payout_gives_the_money_back(client, shop, inbox, worker):
    await set_webhook_url(client, shop, inbox.url)
    await set_payout_destination(client, shop, FAILING_IBAN, "MANUAL")
    await paid_intent(client, shop, amount=10_000)
    await asyncio.sleep(SETTLEMENT)
    created = await create_payout(client, shop)
    payout = created["payout"]
    assert created["userErrors"] == [] and payout["amount"] == 9_680
    assert payout["destinationLast4"] == "0002"
    failed = await wait_for(lambda: _payout_status(client, shop, payout["id"], "FAILED"))
    assert failed["failureCode"] == "no_account"
    rows = await transactions(client, shop, payoutId=payout["id"])
    assert [(r["type"], r["net"]) for r in rows] == [("PAYOUT_FAILURE", 9_680),
                                                     ("PAYOUT", -9_680)]
    assert await balance_of(client, shop) == {"available": {"USD": 9_680},
                                              "pending": {"USD": 0}}
    await wait_for(lambda: inbox.bodies_of_type("payout.failed"))
    body = json.loads(inbox.bodies_of_type("payout.failed")[0].body)
    assert body["data"]["object"]["status"] == "FAILED"
    assert body["data"]["object"]["failure_code"] == "no_account"
    listed = await gql(client, PAYOUTS, {"status": "FAILED"}, api_key=shop.api_key)
    assert [e["node"]["id"] for e in listed["data"]["payouts"]["edges"]] == [payout["id"]]


async def _dispute_of(client, shop, intent_id: str, status: str) -> dict | None:
    found = await intent_money(client, shop, intent_id)
    disputes = [d for d in found["disputes"] if d["status"] == status]
    return disputes[0] if disputes else None


async def test_the_life_of_a_won_dispute(client, shop, inbox, worker):
    await set_webhook_url(client, shop, inbox.url)
    intent = await create_intent(client, shop, amount=10_000)
    assert (await confirm(client, intent, DISPUTE_CARD))["userErrors"] == []
    dispute = await wait_for(lambda: _dispute_of(client, shop, intent["id"], "NEEDS_RESPONSE"))
    assert (dispute["amount"], dispute["reason"]) == (10_000, "fraudulent")
    refused = payload_of(await gql(client, REFUND, {"input": {"id": intent["id"]}},
                                   api_key=shop.api_key), "refundPaymentIntent")
    assert user_error_codes(refused) == ["INVALID_STATE"]
    rows = await transactions(client, shop, paymentIntentId=intent["id"])
    assert [(r["type"], r["amount"], r["fee"], r["net"]) for r in rows][0] == \
        ("DISPUTE", -10_000, 1_500, -11_500)
    answered = payload_of(await gql(client, SUBMIT_EVIDENCE, {"input": {
        "id": dispute["id"], "evidence": "Signed delivery receipt.\nwinning_evidence"}},
        api_key=shop.api_key), "submitDisputeEvidence")
    assert answered["userErrors"] == [] and answered["dispute"]["status"] == "UNDER_REVIEW"
    twice = payload_of(await gql(client, ACCEPT_DISPUTE, {"input": {"id": dispute["id"]}},
                                 api_key=shop.api_key), "acceptDispute")
    assert user_error_codes(twice) == ["INVALID_STATE"]
    won = await wait_for(lambda: _dispute_of(client, shop, intent["id"], "WON"))
    assert won["closedAt"] is not None
    rows = await transactions(client, shop, paymentIntentId=intent["id"])
    assert [r["type"] for r in rows] == ["DISPUTE_REVERSAL", "DISPUTE", "CHARGE"]
    assert sum(r["net"] for r in rows) == 9_680 - 1_500  # the dispute fee stays taken
    after_win = payload_of(await gql(client, REFUND, {"input": {"id": intent["id"],
                                                                "amount": 100}},
                                     api_key=shop.api_key), "refundPaymentIntent")
    assert after_win["userErrors"] == []
    await wait_for(lambda: inbox.bodies_of_type("dispute.closed"))
    types = [json.loads(r.body)["type"] for r in inbox.received]
    assert {"dispute.created", "dispute.updated", "dispute.closed"} <= set(types)
    closed = json.loads(inbox.bodies_of_type("dispute.closed")[0].body)["data"]["object"]
    assert closed["status"] == "WON" and closed["id"] == dispute["id"]
    one = await gql(client, DISPUTE, {"id": dispute["id"]}, api_key=shop.api_key)
    assert one["data"]["dispute"]["status"] == "WON"


async def test_an_accepted_dispute_is_lost_and_blocks_refunds(client, shop, worker):
    intent = await create_intent(client, shop, amount=10_000)
    await confirm(client, intent, DISPUTE_CARD)
    refunded = payload_of(await gql(client, REFUND, {"input": {"id": intent["id"],
                                                               "amount": 1_000}},
                                    api_key=shop.api_key), "refundPaymentIntent")
    assert refunded["userErrors"] == []  # before the dispute opens
    dispute = await wait_for(lambda: _dispute_of(client, shop, intent["id"], "NEEDS_RESPONSE"))
    assert dispute["amount"] == 9_000  # what was captured and not refunded
    lost = payload_of(await gql(client, ACCEPT_DISPUTE, {"input": {"id": dispute["id"]}},
                                token=shop.owner.token), "acceptDispute")
    assert lost["dispute"]["status"] == "LOST"
    refused = payload_of(await gql(client, REFUND, {"input": {"id": intent["id"]}},
                                   api_key=shop.api_key), "refundPaymentIntent")
    assert user_error_codes(refused) == ["INVALID_STATE"]
    listed = await gql(client, DISPUTES, {"status": "LOST"}, api_key=shop.api_key)
    assert [e["node"]["id"] for e in listed["data"]["disputes"]["edges"]] == [dispute["id"]]


async def test_evidence_without_the_winning_words_loses(client, shop, worker):
    intent = await create_intent(client, shop, amount=2_000)
    await confirm(client, intent, DISPUTE_CARD)
    dispute = await wait_for(lambda: _dispute_of(client, shop, intent["id"], "NEEDS_RESPONSE"))
    too_long = payload_of(await gql(client, SUBMIT_EVIDENCE, {"input": {
        "id": dispute["id"], "evidence": "x" * 20_001}}, api_key=shop.api_key),
        "submitDisputeEvidence")
    assert user_error_codes(too_long) == ["VALIDATION_ERROR"]
    await gql(client, SUBMIT_EVIDENCE, {"input": {"id": dispute["id"], "evidence": "receipt"}},
              api_key=shop.api_key)
    lost = await wait_for(lambda: _dispute_of(client, shop, intent["id"], "LOST"))
    assert lost["evidence"] == "receipt"


async def test_the_csv_report(client, shop):
    intent = await paid_intent(client, shop, amount=10_000)
    await gql(client, REFUND, {"input": {"id": intent["id"], "amount": 500}},
              api_key=shop.api_key)
    answer = await client.get("/reports/balance-transactions.csv",
                              headers={"X-API-Key": shop.api_key})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == ["id", "type", "amount", "fee", "net", "currency", "created_at",
                       "available_on", "payment_intent_id", "refund_id", "dispute_id",
                       "payout_id", "description"]
    assert [(r[1], r[2], r[4], r[10]) for r in rows[1:]] == [("REFUND", "-500", "-500", ""),
                                                             ("CHARGE", "10000", "9680", "")]
    assert rows[1][6].endswith("Z")
    created = rows[1][6]
    later = await client.get("/reports/balance-transactions.csv", params={
        "merchant_id": shop.merchant_id, "created_after": created},
        headers={"Authorization": f"Bearer {shop.owner.token}"})
    assert [r[1] for r in list(csv.reader(io.StringIO(later.text)))[1:]] == ["REFUND"]
    assert (await client.get("/reports/balance-transactions.csv")).status_code == 401
    other = await client.get("/reports/balance-transactions.csv",
                             params={"merchant_id": "mer_nope"},
                             headers={"Authorization": f"Bearer {shop.owner.token}"})
    assert other.status_code == 404
    for malformed in ("mer_" + "x" * 60, "mer_\x00x"):  # never reaches the database
        answer = await client.get("/reports/balance-transactions.csv",
                                  params={"merchant_id": malformed},
                                  headers={"Authorization": f"Bearer {shop.owner.token}"})
        assert answer.status_code == 404 and answer.text.startswith("NOT_FOUND")


async def test_a_merchant_streams_a_few_exports_at_once(client, shop):
    """Each export reads up to the whole ledger: past EXPORTS_AT_ONCE running for a merchant,
    the next is refused (429) until one ends; a finished export frees its place."""
    import httpx
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from core.ratelimit import Verdict
    from reports.routes import Running, report_routes
    from schema.context import authenticate

    async def allowed(request):
        return Verdict(limit=100, remaining=99, reset=1, retry_after=0)

    running = Running(limit=1)
    reports = Starlette(routes=[Mount("/reports", routes=report_routes(
        authenticate, allowed, running))])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=reports),
                                 base_url="http://t") as http:
        def export():
            return http.get("/reports/balance-transactions.csv",
                            headers={"X-API-Key": shop.api_key})

        assert running.claim(shop.merchant_id)  # one already streaming
        refused = await export()
        assert refused.status_code == 429 and refused.text.startswith("RATE_LIMITED")
        running.release(shop.merchant_id)
        assert (await export()).status_code == 200
        assert running.counts == {}  # the finished export gave its place back


async def test_staff_see_no_payout_or_dispute_through_the_events(client, shop):
    """A payout's or a dispute's event carries it whole: a role that may not read payouts and
    disputes (STAFF) does not see those events either; MANAGER and the API key do."""
    from resolvers import events

    await events.record(shop.merchant_id, "payout.created", "po_x",
                        {"object": {"id": "po_x", "amount": 1000, "destination_last4": "3000"}})
    await events.record(shop.merchant_id, "webhook.test", None, {"object": {}})
    staff = await add_member(client, shop.owner, shop.merchant_id, "STAFF")
    manager = await add_member(client, shop.owner, shop.merchant_id, "MANAGER")

    async def types_seen(event_type=None, **credential):
        answer = await gql(client, EVENTS, {"merchantId": shop.merchant_id,
                                            "type": event_type}, **credential)
        return {edge["node"]["type"] for edge in answer["data"]["events"]["edges"]}

    assert await types_seen(token=staff.token) == {"webhook.test"}
    assert await types_seen("payout.created", token=staff.token) == set()
    assert await types_seen(token=manager.token) >= {"payout.created", "webhook.test"}
    assert "payout.created" in await types_seen(api_key=shop.api_key)


async def test_the_sweep_forgets_pending_buckets_of_past_hours(client, shop):
    from datetime import timedelta

    from core.clock import now
    from models.money import BalancePending
    from models.sql import AddToPending, hour_of, write_together
    from resolvers.money import ledger

    this_hour = hour_of(now())
    hours = [this_hour - timedelta(hours=2), this_hour - timedelta(hours=1), this_hour,
             this_hour + timedelta(hours=1)]
    # never-read past buckets with money in them; the current and next ones add nothing
    await write_together(*(AddToPending(shop.merchant_id, "USD", 100 if hour < this_hour else 0,
                                        available_hour=hour) for hour in hours))
    before = await gql(client, BALANCE, {"merchantId": shop.merchant_id}, api_key=shop.api_key)
    assert await ledger.forget_past_buckets(now()) == 2
    kept = await BalancePending.filter(merchant_id=shop.merchant_id).values_list(
        "available_hour", flat=True)
    assert sorted(kept) == hours[2:]
    after = await gql(client, BALANCE, {"merchantId": shop.merchant_id}, api_key=shop.api_key)
    assert after == before
