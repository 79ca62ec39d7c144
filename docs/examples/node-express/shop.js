// A tiny shop that takes payments through the gateway's hosted checkout.
//
// Run it with `node shop.js` and these environment variables: GATEWAY_URL (default
// http://127.0.0.1:8000), GATEWAY_API_KEY (the merchant's server key), WEBHOOK_SECRET
// (`whsec_...`, from updateMerchantSettings once a webhookUrl is set) and PORT (default 3000).
"use strict";

const crypto = require("node:crypto");
const express = require("express");
const { Webhook, WebhookVerificationError } = require("standardwebhooks");

const GATEWAY_URL = (process.env.GATEWAY_URL || "http://127.0.0.1:8000").replace(/\/+$/, "");
const API_KEY = required("GATEWAY_API_KEY");
const webhook = new Webhook(required("WEBHOOK_SECRET"));
const PORT = Number(process.env.PORT || 3000);
const PAID = new Set(["CAPTURED", "AUTHORIZED"]);

// What the shop sells: one fixed cart, in cents.
const CART = [
  { name: "The Pragmatic Programmer", quantity: 1, unitAmount: 4999 },
  { name: "Bookmark", quantity: 2, unitAmount: 500 },
];
const CURRENCY = "USD";

const CREATE_INTENT = `mutation($input: CreatePaymentIntentInput!) {
  createPaymentIntent(input: $input) {
    paymentIntent { id checkoutUrl } userErrors { code field message } } }`;
const READ_INTENT = `query($id: ID!) { paymentIntent(id: $id) { id status amount currency } }`;

const received = new Map(); // webhook-id -> what the shop kept of the event

function required(name) {
  if (!process.env[name]) throw new Error(`${name} is not set (see README.md)`);
  return process.env[name];
}

class GatewayRefused extends Error {}

// POST one GraphQL request with the shop's API key; the `data` of the answer.
async function graphql(query, variables) {
  const response = await fetch(`${GATEWAY_URL}/graphql`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-API-Key": API_KEY },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(15000),
  });
  const answer = await response.json();
  if (answer.errors && answer.errors.length) {
    const first = answer.errors[0];
    throw new GatewayRefused(`${(first.extensions || {}).code}: ${first.message}`);
  }
  return answer.data;
}

const cartTotal = () => CART.reduce((sum, item) => sum + item.quantity * item.unitAmount, 0);
const money = (cents) => (cents / 100).toFixed(2);

// The payment intent for the cart. The idempotency key makes a retried POST safe.
function intentInput(successUrl, cancelUrl) {
  return {
    amount: cartTotal(), currency: CURRENCY, description: "Your order",
    lineItems: CART.map(({ name, quantity, unitAmount }) => ({ name, quantity, unitAmount })),
    successUrl, cancelUrl, idempotencyKey: `order-${crypto.randomUUID()}`,
  };
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) =>
    ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function page({ title, message = "", showCart = false, events = [] }) {
  const cart = showCart ? `
  <ul>${CART.map((item) => `<li>${item.quantity} × ${escapeHtml(item.name)}: ` +
    `${money(item.unitAmount)}</li>`).join("")}</ul>
  <form method="post" action="/buy">
    <button id="buy" type="submit">Buy for ${money(cartTotal())} ${CURRENCY}</button>
  </form>` : "";
  const items = events.map((e) =>
    `<li>${escapeHtml(e.type)} (${escapeHtml(e.intent)}: ${escapeHtml(e.status)})</li>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body>
  <h1 id="title">${escapeHtml(title)}</h1>
  ${message ? `<p id="message">${escapeHtml(message)}</p>` : ""}${cart}
  <p><a href="/">Back to the shop</a></p>
  <h2>Webhooks received</h2>
  <ul id="events">${items.join("") || "<li>none yet</li>"}</ul>
</body></html>`;
}

const baseUrl = (req) => `${req.protocol}://${req.get("host")}`;
const app = express();

app.get("/", (req, res) => {
  res.send(page({ title: "Acme Books", showCart: true, events: [...received.values()] }));
});

app.post("/buy", async (req, res) => {
  // {CHECKOUT_SESSION_ID} is filled in by the gateway with the intent's id.
  const success = `${baseUrl(req)}/success?session={CHECKOUT_SESSION_ID}`;
  const input = intentInput(success, `${baseUrl(req)}/`);
  const created = (await graphql(CREATE_INTENT, { input })).createPaymentIntent;
  if (created.userErrors.length) {
    const error = created.userErrors[0];
    throw new GatewayRefused(`${error.code}: ${error.message}`);
  }
  res.redirect(303, created.paymentIntent.checkoutUrl);
});

// Never trust the redirect alone: ask the gateway whether the intent is paid.
app.get("/success", async (req, res) => {
  const intentId = req.query.session || req.query.payment_intent || "";
  const intent = intentId ? (await graphql(READ_INTENT, { id: String(intentId) })).paymentIntent
    : null;
  if (intent && PAID.has(intent.status)) {
    res.send(page({ title: "Paid, thank you!",
      message: `Payment ${intent.id} is ${intent.status}.` }));
    return;
  }
  res.send(page({ title: "Not paid",
    message: `This order is not paid (status: ${intent ? intent.status : "unknown"}).` }));
});

// Verified per Standard Webhooks (on the raw body); delivery is at least once, so dedupe on
// webhook-id.
app.post("/webhooks", express.raw({ type: "*/*" }), (req, res) => {
  let event;
  try {
    const payload = Buffer.isBuffer(req.body) ? req.body.toString("utf8") : "";
    event = webhook.verify(payload, req.headers);
  } catch (error) {
    if (error instanceof WebhookVerificationError) return res.sendStatus(400);
    throw error;
  }
  const id = req.get("webhook-id");
  if (!received.has(id)) {
    const intent = event.data.object;
    received.set(id, { id: event.id, type: event.type, intent: intent.id, status: intent.status });
  }
  res.sendStatus(204);
});

app.get("/webhooks/received", (req, res) => res.json([...received.values()]));

app.use((error, req, res, next) => {
  if (!(error instanceof GatewayRefused)) return next(error);
  res.status(502).send(page({ title: "The gateway refused", message: error.message }));
});

app.listen(PORT, "127.0.0.1", () => console.log(`shop on http://127.0.0.1:${PORT}`));
