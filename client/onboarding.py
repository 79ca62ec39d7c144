"""The onboarding of CONTRACT §3: register, log in, create a merchant, create an API key."""

from __future__ import annotations

from dataclasses import dataclass

from client.graphql import Gateway

REGISTER = """mutation($input: RegisterInput!) { register(input: $input) {
  user { id } userErrors { code field message } } }"""
LOGIN = """mutation($input: LoginInput!) { login(input: $input) {
  accessToken refreshToken userErrors { code field message } } }"""
CREATE_MERCHANT = """mutation($input: CreateMerchantInput!) { createMerchant(input: $input) {
  merchant { id } userErrors { code field message } } }"""
CREATE_API_KEY = """mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) {
  secret userErrors { code field message } } }"""
SET_WEBHOOK_URL = """mutation($input: UpdateMerchantSettingsInput!) {
  updateMerchantSettings(input: $input) {
    settings { webhookUrl webhookSecret } userErrors { code field message } } }"""


@dataclass
class User:
    id: str
    email: str
    token: str
    refresh_token: str


@dataclass
class Merchant:
    """A merchant ready to take payments: its owner, its id and a server API key."""

    owner: User
    id: str
    api_key: str


async def register_and_login(gateway: Gateway, name: str, email: str, password: str) -> User:
    registered = await gateway.mutate(REGISTER, "register", {
        "name": name, "email": email, "password": password})
    tokens = await gateway.mutate(LOGIN, "login", {"email": email, "password": password})
    return User(registered["user"]["id"], email, tokens["accessToken"], tokens["refreshToken"])


async def create_merchant(gateway: Gateway, owner: User, business_name: str,
                          email: str) -> str:
    created = await gateway.as_user(owner.token).mutate(CREATE_MERCHANT, "createMerchant", {
        "businessName": business_name, "email": email})
    return created["merchant"]["id"]


async def create_api_key(gateway: Gateway, owner: User, merchant_id: str,
                         name: str = "server") -> str:
    created = await gateway.as_user(owner.token).mutate(CREATE_API_KEY, "createApiKey", {
        "merchantId": merchant_id, "name": name})
    return created["secret"]


async def set_webhook_url(gateway: Gateway, owner: User, merchant_id: str, url: str) -> str:
    """Point the merchant's webhooks at `url`; returns the signing secret."""
    updated = await gateway.as_user(owner.token).mutate(
        SET_WEBHOOK_URL, "updateMerchantSettings", {"merchantId": merchant_id,
                                                    "webhookUrl": url})
    return updated["settings"]["webhookSecret"]


async def onboard(gateway: Gateway, *, name: str, email: str, password: str,
                  business_name: str, merchant_email: str) -> Merchant:
    """From nothing to a merchant with an API key, as a new developer does it."""
    owner = await register_and_login(gateway, name, email, password)
    merchant_id = await create_merchant(gateway, owner, business_name, merchant_email)
    return Merchant(owner, merchant_id, await create_api_key(gateway, owner, merchant_id))
