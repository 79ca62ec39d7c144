"""GraphQL documents and small helpers shared by the tests."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx

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
  members { role user { id email } } invitations { id email role token status }
  apiKeys { id name prefix lastUsedAt revokedAt } } }"""
MERCHANTS = "{ merchants { id businessName } }"
ROLES = "{ roles { role permissions } }"
INVITE = """mutation($input: InviteMemberInput!) { inviteMember(input: $input) {
  invitation { id email role status token expiresAt } userErrors { code field message } } }"""
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
    all_headers = dict(headers or {})
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    if api_key:
        all_headers["X-API-Key"] = api_key
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}},
                                 headers=all_headers)
    body = response.json()
    body["_status"] = response.status_code
    return body


def payload_of(body: dict, field: str) -> dict:
    assert "errors" not in body, body
    return body["data"][field]


def error_code(body: dict) -> str:
    return body["errors"][0]["extensions"]["code"]


def user_error_codes(payload: dict) -> list[str]:
    return [error["code"] for error in payload["userErrors"]]


@dataclass
class Account:
    user_id: str
    email: str
    token: str
    refresh_token: str


async def register_and_login(client: httpx.AsyncClient, tag: str = "dev") -> Account:
    email = unique_email(tag)
    registered = payload_of(await gql(client, REGISTER, {"input": {
        "name": tag.title(), "email": email, "password": PASSWORD}}), "register")
    assert registered["userErrors"] == [], registered
    login = payload_of(await gql(client, LOGIN, {"input": {"email": email,
                                                            "password": PASSWORD}}), "login")
    assert login["userErrors"] == [], login
    return Account(registered["user"]["id"], email, login["accessToken"], login["refreshToken"])


async def create_merchant(client: httpx.AsyncClient, account: Account,
                          name: str = "Acme Books") -> str:
    created = payload_of(await gql(client, CREATE_MERCHANT, {"input": {
        "businessName": name, "email": "billing@acme.test"}}, token=account.token),
        "createMerchant")
    assert created["userErrors"] == [], created
    return created["merchant"]["id"]


async def create_api_key(client: httpx.AsyncClient, account: Account, merchant_id: str) -> str:
    created = payload_of(await gql(client, CREATE_KEY, {"input": {
        "merchantId": merchant_id, "name": "server"}}, token=account.token), "createApiKey")
    assert created["userErrors"] == [], created
    return created["secret"]


async def add_member(client: httpx.AsyncClient, owner: Account, merchant_id: str,
                     role: str) -> Account:
    member = await register_and_login(client, role.lower())
    invited = payload_of(await gql(client, INVITE, {"input": {
        "merchantId": merchant_id, "email": member.email, "role": role}}, token=owner.token),
        "inviteMember")
    assert invited["userErrors"] == [], invited
    accepted = payload_of(await gql(client, ACCEPT, {"input": {
        "token": invited["invitation"]["token"]}}, token=member.token), "acceptInvitation")
    assert accepted["userErrors"] == [], accepted
    return member
