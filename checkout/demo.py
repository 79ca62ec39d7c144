"""`python main.py demo`: the quick start against a running gateway, ending in a checkout URL."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

PASSWORD = "demo password 123"

REGISTER = "mutation($input: RegisterInput!) { register(input: $input) { userErrors { message } } }"
LOGIN = """mutation($input: LoginInput!) { login(input: $input) {
  accessToken userErrors { message } } }"""
MERCHANT = """mutation($input: CreateMerchantInput!) { createMerchant(input: $input) {
  merchant { id } userErrors { message } } }"""
API_KEY = """mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) {
  secret userErrors { message } } }"""
INTENT = """mutation($input: CreatePaymentIntentInput!) { createPaymentIntent(input: $input) {
  paymentIntent { id checkoutUrl } userErrors { message } } }"""


class DemoError(Exception):
    pass


def call(http: httpx.Client, query: str, variables: dict[str, Any], field: str,
         **headers: str) -> dict[str, Any]:
    body = http.post("/graphql", json={"query": query, "variables": {"input": variables}},
                     headers=headers).json()
    if body.get("errors"):
        raise DemoError(body["errors"][0]["message"])
    result = body["data"][field]
    if result["userErrors"]:
        raise DemoError(result["userErrors"][0]["message"])
    return result


def run_demo(base_url: str) -> int:
    email = f"demo-{secrets.token_hex(4)}@example.com"
    try:
        with httpx.Client(base_url=base_url, timeout=10) as http:
            call(http, REGISTER, {"name": "Demo", "email": email, "password": PASSWORD},
                 "register")
            token = call(http, LOGIN, {"email": email, "password": PASSWORD},
                         "login")["accessToken"]
            auth = {"Authorization": f"Bearer {token}"}
            merchant = call(http, MERCHANT, {"businessName": "Demo Books",
                                             "email": "billing@demo.test"},
                            "createMerchant", **auth)["merchant"]["id"]
            key = call(http, API_KEY, {"merchantId": merchant, "name": "demo"},
                       "createApiKey", **auth)["secret"]
            intent = call(http, INTENT, {
                "amount": 4999, "currency": "USD", "description": "A demo order",
                "successUrl": f"{base_url}/healthz?paid={{CHECKOUT_SESSION_ID}}",
                "cancelUrl": f"{base_url}/healthz?canceled=1"},
                "createPaymentIntent", **{"X-API-Key": key})["paymentIntent"]
    except (httpx.HTTPError, DemoError) as error:
        print(f"demo failed against {base_url}: {error}")
        return 1
    print(f"user      {email} / {PASSWORD}\nmerchant  {merchant}\napi key   {key}\n"
          f"intent    {intent['id']}\n\nPay it (4242 4242 4242 4242, any future date, any CVC):"
          f"\n  {intent['checkoutUrl']}")
    return 0
