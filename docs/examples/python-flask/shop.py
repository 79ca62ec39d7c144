"""A tiny shop that takes payments through the gateway's hosted checkout.

Run it with `flask --app shop run --port 5000` and these environment variables:
GATEWAY_URL (default http://127.0.0.1:8000), GATEWAY_API_KEY (the merchant's server key) and
WEBHOOK_SECRET (`whsec_...`, from updateMerchantSettings once a webhookUrl is set).
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
import uuid

from flask import Flask, abort, jsonify, redirect, render_template_string, request, url_for
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

GATEWAY_URL = os.environ.get("GATEWAY_URL", "http://127.0.0.1:8000").rstrip("/")
API_KEY = os.environ["GATEWAY_API_KEY"]
WEBHOOK = Webhook(os.environ["WEBHOOK_SECRET"])
PAID = {"CAPTURED", "AUTHORIZED"}

# What the shop sells: one fixed cart, in cents.
CART = [{"name": "The Pragmatic Programmer", "quantity": 1, "unitAmount": 4999},
        {"name": "Bookmark", "quantity": 2, "unitAmount": 500}]
CURRENCY = "USD"

CREATE_INTENT = """mutation($input: CreatePaymentIntentInput!) {
  createPaymentIntent(input: $input) {
    paymentIntent { id checkoutUrl } userErrors { code field message } } }"""
READ_INTENT = """query($id: ID!) { paymentIntent(id: $id) { id status amount currency } }"""

app = Flask(__name__)
received_lock = threading.Lock()
received: dict[str, dict] = {}  # webhook-id -> what the shop kept of the event


class GatewayRefused(Exception):
    """The gateway answered with an error (a top-level error or a userError)."""


def graphql(query: str, variables: dict) -> dict:
    """POST one GraphQL request with the shop's API key; the `data` of the answer."""
    body = json.dumps({"query": query, "variables": variables}).encode()
    call = urllib.request.Request(f"{GATEWAY_URL}/graphql", data=body, method="POST", headers={
        "Content-Type": "application/json", "X-API-Key": API_KEY})
    try:
        with urllib.request.urlopen(call, timeout=15) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as error:
        answer = json.load(error)
    if answer.get("errors"):
        first = answer["errors"][0]
        raise GatewayRefused(f"{first.get('extensions', {}).get('code')}: {first['message']}")
    return answer["data"]


def cart_total() -> int:
    return sum(item["quantity"] * item["unitAmount"] for item in CART)


def intent_input(success_url: str, cancel_url: str) -> dict:
    """The payment intent for the cart. The idempotency key makes a retried POST safe."""
    return {"amount": cart_total(), "currency": CURRENCY, "description": "Your order",
            "lineItems": [{"name": item["name"], "quantity": item["quantity"],
                           "unitAmount": item["unitAmount"]} for item in CART],
            "successUrl": success_url, "cancelUrl": cancel_url,
            "idempotencyKey": f"order-{uuid.uuid4()}"}


@app.errorhandler(GatewayRefused)
def gateway_refused(error: GatewayRefused):
    return render_template_string(PAGE, title="The gateway refused",
                                  message=str(error), events=[]), 502


@app.get("/")
def home():
    with received_lock:
        events = list(received.values())
    return render_template_string(PAGE, title="Acme Books", cart=CART, total=cart_total(),
                                  currency=CURRENCY, events=events)


@app.post("/buy")
def buy():
    # {CHECKOUT_SESSION_ID} is filled in by the gateway with the intent's id.
    success = url_for("success", _external=True) + "?session={CHECKOUT_SESSION_ID}"
    created = graphql(CREATE_INTENT, {"input": intent_input(success, url_for(
        "home", _external=True))})["createPaymentIntent"]
    if created["userErrors"]:
        error = created["userErrors"][0]
        raise GatewayRefused(f"{error['code']}: {error['message']}")
    return redirect(created["paymentIntent"]["checkoutUrl"], code=303)


@app.get("/success")
def success():
    """Never trust the redirect alone: ask the gateway whether the intent is paid."""
    intent_id = request.args.get("session") or request.args.get("payment_intent", "")
    intent = graphql(READ_INTENT, {"id": intent_id})["paymentIntent"] if intent_id else None
    if intent and intent["status"] in PAID:
        return render_template_string(PAGE, title="Paid, thank you!", message=(
            f"Payment {intent['id']} is {intent['status']}."), events=[])
    status = intent["status"] if intent else "unknown"
    return render_template_string(PAGE, title="Not paid", message=(
        f"This order is not paid (status: {status})."), events=[])


@app.post("/webhooks")
def webhooks():
    """Verified per Standard Webhooks; delivery is at least once, so dedupe on webhook-id."""
    body = request.get_data()
    try:
        WEBHOOK.verify(body, dict(request.headers))
    except WebhookVerificationError:
        abort(400)
    event = json.loads(body)
    intent = event["data"]["object"]
    with received_lock:
        received.setdefault(request.headers["webhook-id"], {
            "id": event["id"], "type": event["type"], "intent": intent.get("id"),
            "status": intent.get("status")})
    return "", 204


@app.get("/webhooks/received")
def webhooks_received():
    with received_lock:
        return jsonify(list(received.values()))


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body>
  <h1 id="title">{{ title }}</h1>
  {% if message %}<p id="message">{{ message }}</p>{% endif %}
  {% if cart %}
  <ul>{% for item in cart %}
    <li>{{ item.quantity }} × {{ item.name }}: {{ "%.2f"|format(item.unitAmount / 100) }}</li>
  {% endfor %}</ul>
  <form method="post" action="{{ url_for('buy') }}">
    <button id="buy" type="submit">Buy for {{ "%.2f"|format(total / 100) }} {{ currency }}</button>
  </form>
  {% endif %}
  <p><a href="{{ url_for('home') }}">Back to the shop</a></p>
  <h2>Webhooks received</h2>
  <ul id="events">{% for event in events %}
    <li>{{ event.type }} ({{ event.intent }}: {{ event.status }})</li>
  {% else %}<li>none yet</li>{% endfor %}</ul>
</body></html>
"""
