"""The schema's enums: the domain's own enums, exposed as they are, with their documentation."""

from enum import Enum

import strawberry

from core.branding import BorderStyle as _BorderStyle
from core.errors import ErrorCode as _ErrorCode
from core.permissions import Role as _Role
from models.payment_intents import CaptureMethod as _CaptureMethod
from models.payment_intents import IntentStatus as _IntentStatus
from models.payment_intents import SubmitType as _SubmitType


def documented(domain_enum: type[Enum], name: str, description: str,
               values: dict[str, str]) -> type[Enum]:
    """`strawberry.enum` of a domain enum, with a description for each value by its name.

    The domain enums stay free of GraphQL; their documentation lives here, next to the schema.
    """
    exposed = strawberry.enum(domain_enum, name=name, description=description)
    for value in exposed.__strawberry_definition__.values:
        value.description = values.get(value.name)
    return exposed


ErrorCode = documented(_ErrorCode, "ErrorCode", (
    "Why an operation was refused: in a payload's `userErrors` (the operation ran and said "
    "no) or in `extensions.code` of a top-level error (the operation did not run)."), {
    "VALIDATION_ERROR": "A bad value (email, URL, amount out of range, unsupported currency, "
                        "bad card field, control characters...); `field` names it.",
    "EMAIL_TAKEN": "`register` with an email that is already registered.",
    "WEAK_PASSWORD": "A password of fewer than 8 characters, or a very common one.",
    "INVALID_CREDENTIALS": "Wrong email or password, or a refresh token that is no longer "
                           "valid.",
    "ACCOUNT_LOCKED": "5 failed logins in a row lock the account for 30 minutes.",
    "UNAUTHENTICATED": "Missing, malformed, expired or revoked access token or API key.",
    "FORBIDDEN": "Authenticated, but your role or API key may not do this.",
    "INVALID_CLIENT_SECRET": "The client secret does not belong to this payment intent.",
    "NOT_FOUND": "No such object visible to you (another merchant's objects are not found).",
    "IDEMPOTENCY_KEY_REUSED": "The same idempotencyKey was used with different arguments "
                              "within 24 hours.",
    "INTENT_EXPIRED": "Confirming a payment intent whose expiresAt has passed.",
    "MAX_ATTEMPTS_REACHED": "The payment intent failed after its 5 declined attempts.",
    "PAYMENT_DECLINED": "The card was declined; the payload still returns the intent with "
                        "lastPaymentError and attemptCount.",
    "PAYMENT_ALREADY_COMPLETED": "Confirming a payment intent that is already paid.",
    "INVALID_STATE": "A transition the payment intent's state does not allow (capture twice, "
                     "refund more than captured, void a captured intent...).",
    "RATE_LIMITED": "Too many requests; retry after `extensions.retryAfter` seconds.",
    "SERVICE_UNAVAILABLE": "The gateway's database or cache failed under the request; "
                           "nothing was done, retry later.",
    "QUERY_TOO_COMPLEX": "The document is too deep (over 10 levels), has too many aliases, "
                         "is too large or costs more than the limit (`extensions.cost`).",
    "GRAPHQL_PARSE_FAILED": "The request body or the GraphQL document does not parse.",
    "GRAPHQL_VALIDATION_FAILED": "The document does not match the schema (an unknown field, "
                                 "a wrong type such as `amount: 99.99`).",
    "INTERNAL_SERVER_ERROR": "An unexpected failure; the message is masked, details are in "
                             "the gateway's log.",
})

Role = documented(_Role, "Role", (
    "A member's role in a merchant. Each role can do everything the roles below it can."), {
    "OWNER": "Everything, including removing members. The member who created the merchant.",
    "ADMIN": "Changes roles, updates the merchant and its settings, sees the webhook secret, "
             "creates and revokes API keys.",
    "MANAGER": "Captures, voids, cancels and refunds payments, and invites members.",
    "STAFF": "Reads the merchant, its members, payment intents and events.",
})

CaptureMethod = documented(_CaptureMethod, "CaptureMethod", (
    "When an approved card is charged."), {
    "AUTOMATIC": "Captured at once: an approved payment goes straight to CAPTURED.",
    "MANUAL": "Only authorized (AUTHORIZED): capture it within 7 days with "
              "capturePaymentIntent, or it is voided.",
})

PaymentIntentStatus = documented(_IntentStatus, "PaymentIntentStatus", (
    "Where a payment intent stands; any transition not listed here is INVALID_STATE."), {
    "AWAITING_PAYMENT_METHOD": "Created, waiting for an approved card (declined attempts "
                               "leave it here until the 5th).",
    "AUTHORIZED": "The card was approved for a MANUAL intent: the amount is held, ready to "
                  "capture or void.",
    "CAPTURED": "Paid: amountCaptured was charged.",
    "PARTIALLY_REFUNDED": "Paid, and part of the captured amount was refunded.",
    "REFUNDED": "Paid, and everything captured was refunded.",
    "VOIDED": "An authorization released without charge (voided, canceled, or not captured "
              "within 7 days).",
    "CANCELED": "Canceled by the merchant before any payment.",
    "FAILED": "5 declined attempts: it can no longer be paid.",
    "EXPIRED": "expiresAt passed before any payment.",
})

BorderStyle = documented(_BorderStyle, "BorderStyle", (
    "The corners of the checkout page's card, fields and button."), {
    "ROUNDED": "Slightly rounded corners (the default).",
    "SHARP": "Square corners.",
    "PILL": "Fully rounded ends.",
})

SubmitType = documented(_SubmitType, "SubmitType", (
    "How the checkout page's button is worded, in the page's language."), {
    "PAY": 'The amount to pay, e.g. "Pay $99.99" (the default).',
    "BOOK": '"Book".',
    "DONATE": 'The amount given, e.g. "Donate $99.99".',
})
