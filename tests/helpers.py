"""GraphQL documents and small helpers shared by the tests."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from client import Gateway, onboarding

PASSWORD = "correct horse battery"

REGISTER = """mutation($input: RegisterInput!) { register(input: $input) {
  user { id name email createdAt } userErrors { code field message } } }"""
LOGIN = """mutation($input: LoginInput!) { login(input: $input) {
  accessToken refreshToken tokenType expiresIn user { id email }
  userErrors { code field message } } }"""
REFRESH = """mutation($input: RefreshTokenInput!) { refreshToken(input: $input) {
  accessToken refreshToken userErrors { code field message } } }"""
LOGOUT = """mutation($input: LogoutInput) { logout(input: $input) {
  ok userErrors { code field message } } }"""
CHANGE_PASSWORD = """mutation($input: ChangePasswordInput!) { changePassword(input: $input) {
  ok userErrors { code field message } } }"""
ME = "{ me { id email name sessions { id current } memberships { role merchant { id } } } }"
CREATE_MERCHANT = """mutation($input: CreateMerchantInput!) { createMerchant(input: $input) {
  merchant { id businessName email status settings { defaultCurrency webhookUrl } }
  userErrors { code field message } } }"""
UPDATE_MERCHANT = """mutation($input: UpdateMerchantInput!) { updateMerchant(input: $input) {
  merchant { id businessName email phone website } userErrors { code field message } } }"""
UPDATE_SETTINGS = """mutation($input: UpdateMerchantSettingsInput!) {
  updateMerchantSettings(input: $input) {
    settings { webhookUrl webhookSecret defaultCurrency } userErrors { code field message } } }"""
ROTATE_SECRET = """mutation($input: RotateWebhookSecretInput!) {
  rotateWebhookSecret(input: $input) {
    settings { webhookSecret } userErrors { code field message } } }"""
MERCHANT = """query($id: ID!) { merchant(id: $id) { id businessName
  settings { webhookUrl webhookSecret defaultCurrency }
  members { role user { id email } } invitations { id email role status }
  apiKeys { id name prefix lastUsedAt revokedAt } } }"""
MERCHANTS = "{ merchants { id businessName } }"
ROLES = "{ roles { role permissions } }"
INVITE = """mutation($input: InviteMemberInput!) { inviteMember(input: $input) {
  invitation { id email role status expiresAt } token userErrors { code field message } } }"""
ACCEPT = """mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) {
  membership { role user { id } merchant { id } } userErrors { code field message } } }"""
UPDATE_ROLE = """mutation($input: UpdateMemberRoleInput!) { updateMemberRole(input: $input) {
  membership { role user { id } } userErrors { code field message } } }"""
REMOVE_MEMBER = """mutation($input: RemoveMemberInput!) { removeMember(input: $input) {
  ok userErrors { code field message } } }"""
CREATE_KEY = """mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) {
  apiKey { id name prefix createdAt lastUsedAt revokedAt } secret
  userErrors { code field message } } }"""
REVOKE_KEY = """mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) {
  apiKey { id revokedAt } userErrors { code field message } } }"""


def unique_email(tag: str = "dev") -> str:
    return f"{tag}-{secrets.token_hex(5)}@example.com"


async def gql(client: httpx.AsyncClient, query: str, variables: dict | None = None, *,
              token: str | None = None, api_key: str | None = None,
              headers: dict | None = None) -> dict[str, Any]:
    """The whole answer, with its HTTP status as `_status`."""
    gateway = Gateway(client, token=token, api_key=api_key)
    answer = await gateway.request(query, variables, headers=headers)
    return {**answer.body, "_status": answer.status}


def payload_of(body: dict, field: str) -> dict:
    assert "errors" not in body, body
    return body["data"][field]


def error_code(body: dict) -> str:
    return body["errors"][0]["extensions"]["code"]


def user_error_codes(payload: dict) -> list[str]:
    return [error["code"] for error in payload["userErrors"]]


class Account(onboarding.User):
    """A registered, logged-in user."""

    @property
    def user_id(self) -> str:
        return self.id


async def register_and_login(client: httpx.AsyncClient, tag: str = "dev") -> Account:
    user = await onboarding.register_and_login(Gateway(client), tag.title(), unique_email(tag),
                                               PASSWORD)
    return Account(**vars(user))


async def create_merchant(client: httpx.AsyncClient, account: Account,
                          name: str = "Acme Books") -> str:
    return await onboarding.create_merchant(Gateway(client), account, name, "billing@acme.test")


async def create_api_key(client: httpx.AsyncClient, account: Account, merchant_id: str) -> str:
    return await onboarding.create_api_key(Gateway(client), account, merchant_id)


async def add_member(client: httpx.AsyncClient, owner: Account, merchant_id: str,
                     role: str) -> Account:
    member = await register_and_login(client, role.lower())
    invited = payload_of(await gql(client, INVITE, {"input": {
        "merchantId": merchant_id, "email": member.email, "role": role}}, token=owner.token),
        "inviteMember")
    assert invited["userErrors"] == [], invited
    accepted = payload_of(await gql(client, ACCEPT, {"input": {
        "token": invited["token"]}}, token=member.token), "acceptInvitation")
    assert accepted["userErrors"] == [], accepted
    return member


# Fragments for the selections the tests repeat; each document appends the ones it spreads.
INTENT_FRAGMENT = """fragment IntentFields on PaymentIntent {
  id merchantId status amount currency captureMethod description orderId
  customerEmail metadata successUrl cancelUrl clientSecret checkoutUrl expiresAt createdAt
  attemptCount maxAttempts amountCapturable amountCaptured amountRefunded
  card { brand last4 expMonth expYear } lastPaymentError { code message }
  refunds { id amount reason status } }"""
SESSION_FRAGMENT = """fragment SessionFields on CheckoutSession {
  id status amount currency description merchantName expiresAt
  remainingAttempts successUrl cancelUrl attemptCount lastPaymentError { code message }
  card { brand last4 expMonth expYear } }"""
ERRORS = "userErrors { code field message }"


def intent_mutation(name: str, input_type: str, extra: str = "") -> str:
    """A payment mutation answering the whole intent (and `extra` payload fields)."""
    return (f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {extra} "
            f"paymentIntent {{ ...IntentFields }} {ERRORS} }} }}\n{INTENT_FRAGMENT}")


CREATE_INTENT = intent_mutation("createPaymentIntent", "CreatePaymentIntentInput")
CONFIRM = intent_mutation("confirmPaymentIntent", "ConfirmPaymentIntentInput",
                          "checkoutSession { ...SessionFields }") + "\n" + SESSION_FRAGMENT
CAPTURE = intent_mutation("capturePaymentIntent", "CapturePaymentIntentInput")
VOID = intent_mutation("voidPaymentIntent", "VoidPaymentIntentInput")
CANCEL = intent_mutation("cancelPaymentIntent", "PaymentIntentActionInput")
REFUND = intent_mutation("refundPaymentIntent", "RefundPaymentIntentInput",
                         "refund { id paymentIntentId amount reason status }")
INTENT = f"query($id: ID!) {{ paymentIntent(id: $id) {{ ...IntentFields }} }}\n{INTENT_FRAGMENT}"
INTENTS = """query($merchantId: ID, $status: PaymentIntentStatus, $first: Int, $after: String) {
  paymentIntents(merchantId: $merchantId, status: $status, first: $first, after: $after) {
    edges { cursor node { id status amount } } pageInfo { hasNextPage endCursor } } }"""
CHECKOUT_SESSION = """query($id: ID!, $secret: String!) { checkoutSession(id: $id,
  clientSecret: $secret) { id status amount currency description merchantName expiresAt
  remainingAttempts successUrl cancelUrl } }"""
EVENTS = """query($merchantId: ID, $type: String, $first: Int, $after: String) {
  events(merchantId: $merchantId, type: $type, first: $first, after: $after) {
    edges { cursor node { id type createdAt data deliveryState
      deliveries { attempt url responseStatus error succeeded nextRetryAt } } }
    pageInfo { hasNextPage endCursor } } }"""

VISA = "4242 4242 4242 4242"
MASTERCARD = "5555 5555 5555 4444"
DECLINE_CARDS = {"05": "4000000000000002", "51": "4000000000009995", "54": "4000000000000069",
                 "N7": "4000000000000127", "96": "4000000000000119"}


def card(number: str = VISA, **changes) -> dict:
    return {"number": number, "cardholderName": "Ada Lovelace", "expMonth": 12,
            "expYear": 2035, "cvc": "123", **changes}


@dataclass
class Shop:
    """A merchant ready to take payments: its owner and an API key."""

    owner: Account
    merchant_id: str
    api_key: str


async def open_shop(client: httpx.AsyncClient) -> Shop:
    owner = await register_and_login(client, "owner")
    merchant_id = await create_merchant(client, owner)
    return Shop(owner, merchant_id, await create_api_key(client, owner, merchant_id))


async def create_intent(client: httpx.AsyncClient, shop: Shop, **fields) -> dict:
    values = {"amount": 9999, "currency": "usd", "successUrl": "https://shop.test/ok",
              "cancelUrl": "https://shop.test/cancel", **fields}
    created = payload_of(await gql(client, CREATE_INTENT, {"input": values},
                                   api_key=shop.api_key), "createPaymentIntent")
    assert created["userErrors"] == [], created
    return created["paymentIntent"]


async def confirm(client: httpx.AsyncClient, intent: dict, number: str = VISA, *,
                  api_key: str | None = None, token: str | None = None,
                  **card_changes) -> dict:
    """The shopper's confirm, with the client secret only; with `api_key` (the merchant's
    server), the payload's `paymentIntent` is filled too."""
    return payload_of(await gql(client, CONFIRM, {"input": {
        "id": intent["id"], "clientSecret": intent["clientSecret"],
        "card": card(number, **card_changes)}}, api_key=api_key, token=token),
        "confirmPaymentIntent")


async def paid_intent(client: httpx.AsyncClient, shop: Shop, **fields) -> dict:
    """A captured (or, MANUAL, authorized) intent as its merchant reads it."""
    intent = await create_intent(client, shop, **fields)
    confirmed = await confirm(client, intent, api_key=shop.api_key)
    assert confirmed["userErrors"] == [], confirmed
    return confirmed["paymentIntent"]

SEND_TEST_WEBHOOK = """mutation($input: SendTestWebhookInput!) { sendTestWebhook(input: $input) {
  event { id type deliveryState } userErrors { code field message } } }"""
REDELIVER = """mutation($input: RedeliverEventInput!) { redeliverEvent(input: $input) {
  event { id deliveryState } userErrors { code field message } } }"""


async def set_webhook_url(client: httpx.AsyncClient, shop: Shop, url: str) -> str:
    """Point the shop's webhooks at `url`; returns the signing secret."""
    return await onboarding.set_webhook_url(Gateway(client), shop.owner, shop.merchant_id, url)
