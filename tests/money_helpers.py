"""GraphQL documents and helpers of the money tests (CONTRACT §13)."""

from __future__ import annotations

import httpx

from tests.helpers import ERRORS, Shop, gql, payload_of

DISPUTE_CARD = "4000 0000 0000 0259"
GOOD_IBAN = "DE89 3704 0044 0532 0130 00"
FAILING_IBAN = "de40 3704 0044 0532 0100 02"  # ends in 0002: the payout fails (no_account)

TXN_FIELDS = ("id type amount fee net currency status availableOn createdAt paymentIntentId "
              "refundId disputeId payoutId description")
PAYOUT_FIELDS = ("id amount currency status automatic destinationLast4 arrivalDate "
                 "failureCode createdAt")
DISPUTE_FIELDS = ("id paymentIntentId amount currency reason status evidence evidenceDueBy "
                  "createdAt closedAt")
BALANCE = """query($merchantId: ID) { balance(merchantId: $merchantId) {
  available { amount currency } pending { amount currency } } }"""
TRANSACTIONS = f"""query($merchantId: ID, $type: BalanceTransactionType, $paymentIntentId: ID,
  $payoutId: ID, $createdAfter: DateTime, $createdBefore: DateTime, $first: Int,
  $after: String) {{
  balanceTransactions(merchantId: $merchantId, type: $type, paymentIntentId: $paymentIntentId,
    payoutId: $payoutId, createdAfter: $createdAfter, createdBefore: $createdBefore,
    first: $first, after: $after) {{
    edges {{ cursor node {{ {TXN_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
INTENT_MONEY = f"""query($id: ID!) {{ paymentIntent(id: $id) {{ id status amountCaptured
  amountRefunded fee balanceTransactions {{ {TXN_FIELDS} }} disputes {{ {DISPUTE_FIELDS} }} }} }}"""
CREATE_PAYOUT = f"""mutation($input: CreatePayoutInput!) {{ createPayout(input: $input) {{
  payout {{ {PAYOUT_FIELDS} }} {ERRORS} }} }}"""
PAYOUTS = f"""query($merchantId: ID, $status: PayoutStatus) {{
  payouts(merchantId: $merchantId, status: $status) {{
    edges {{ node {{ {PAYOUT_FIELDS} }} }} }} }}"""
PAYOUT = f"query($id: ID!) {{ payout(id: $id) {{ {PAYOUT_FIELDS} }} }}"
DISPUTES = f"""query($merchantId: ID, $status: DisputeStatus) {{
  disputes(merchantId: $merchantId, status: $status) {{
    edges {{ node {{ {DISPUTE_FIELDS} }} }} }} }}"""
DISPUTE = f"query($id: ID!) {{ dispute(id: $id) {{ {DISPUTE_FIELDS} }} }}"
SUBMIT_EVIDENCE = f"""mutation($input: SubmitDisputeEvidenceInput!) {{
  submitDisputeEvidence(input: $input) {{ dispute {{ {DISPUTE_FIELDS} }} {ERRORS} }} }}"""
ACCEPT_DISPUTE = f"""mutation($input: AcceptDisputeInput!) {{ acceptDispute(input: $input) {{
  dispute {{ {DISPUTE_FIELDS} }} {ERRORS} }} }}"""
PAYOUT_SETTINGS = """mutation($input: UpdateMerchantSettingsInput!) {
  updateMerchantSettings(input: $input) {
    settings { payoutSchedule payoutDestinationLast4 } userErrors { code field message } } }"""


async def set_payout_destination(client: httpx.AsyncClient, shop: Shop, iban: str,
                                 schedule: str | None = None) -> dict:
    values = {"merchantId": shop.merchant_id, "payoutDestination": iban}
    if schedule:
        values["payoutSchedule"] = schedule
    return payload_of(await gql(client, PAYOUT_SETTINGS, {"input": values},
                                token=shop.owner.token), "updateMerchantSettings")


async def balance_of(client: httpx.AsyncClient, shop: Shop) -> dict:
    body = await gql(client, BALANCE, api_key=shop.api_key)
    assert "errors" not in body, body
    found = body["data"]["balance"]
    return {kind: {m["currency"]: m["amount"] for m in found[kind]}
            for kind in ("available", "pending")}


async def transactions(client: httpx.AsyncClient, shop: Shop, **variables) -> list[dict]:
    body = await gql(client, TRANSACTIONS, {"first": 100, **variables}, api_key=shop.api_key)
    assert "errors" not in body, body
    return [edge["node"] for edge in body["data"]["balanceTransactions"]["edges"]]


async def create_payout(client: httpx.AsyncClient, shop: Shop, currency: str = "USD",
                        **fields) -> dict:
    return payload_of(await gql(client, CREATE_PAYOUT, {"input": {
        "currency": currency, **fields}}, api_key=shop.api_key), "createPayout")
