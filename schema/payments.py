"""Queries and mutations of payments and events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.errors import UserError
from core.line_items import LineItem
from models.payment_intents import PaymentIntent as IntentModel
from resolvers import payment_intents, webhooks
from resolvers.access import Caller
from resolvers.payment_intents import shopper
from schema.context import caller_of
from schema.enums import CaptureMethod, PaymentIntentStatus, SubmitType
from schema.inputs import gateway_input
from schema.payloads import UserErrorType, payload
from schema.payment_types import (
    CheckoutSession,
    Connection,
    Event,
    PaymentIntent,
    Refund,
    connection,
)

IDEMPOTENCY = ("1 to 255 characters. The same key with the same arguments within 24 hours "
               "returns the first result and does nothing again; with other arguments it is "
               "IDEMPOTENCY_KEY_REUSED.")
USER_ERRORS = "Why the operation was refused; empty when it succeeded."
INTENT_ID = "The payment intent's id."
INPUT = "What to do."


@gateway_input(description="One line of what a payment intent is for.")
class LineItemInput:
    name: str = strawberry.field(description="What is sold, 1 to 200 characters.")
    quantity: int = strawberry.field(description="How many, 1 to 999.")
    unit_amount: int = strawberry.field(description="The price of one, in minor units: 0 or "
                                                    "more.")


@gateway_input(description="A payment to ask for (createPaymentIntent).")
class CreatePaymentIntentInput:
    amount: int = strawberry.field(description="In minor units (cents): 1 to 99,999,999.")
    currency: str = strawberry.field(description="ISO 4217 code (USD, EUR, MAD, GBP, JPY...), "
                                                 "any case.")
    success_url: str = strawberry.field(
        description="Absolute http(s) URL the shopper goes to after paying. "
                    "{CHECKOUT_SESSION_ID} is replaced by the intent's id.")
    cancel_url: str | None = strawberry.field(
        default=None, description="Absolute http(s) URL the shopper goes to when the payment "
                                  "cannot complete.")
    capture_method: CaptureMethod = strawberry.field(
        default=CaptureMethod.AUTOMATIC, description="AUTOMATIC charges on approval; MANUAL "
                                                     "only authorizes.")
    description: str | None = strawberry.field(
        default=None, description="Shown to the shopper at checkout; up to 1000 characters.")
    order_id: str | None = strawberry.field(default=None,
                                            description="Your own reference for the order.")
    customer_email: str | None = strawberry.field(default=None,
                                                  description="The shopper's email.")
    metadata: JSON | None = strawberry.field(
        default=None, description="A flat JSON object: at most 50 keys of up to 40 "
                                  "characters, string values of up to 500.")
    line_items: list[LineItemInput] | None = strawberry.field(
        default=None, description="What is paid for, listed on the checkout page: at most 100, "
                                  "whose quantity × unitAmount add up to amount.")
    locale: str | None = strawberry.field(
        default=None, description='The checkout page\'s language: "en", "fr" or "ar". Left '
                                  "out, the shopper's Accept-Language decides.")
    submit_type: SubmitType = strawberry.field(
        default=SubmitType.PAY, description="How the checkout page's button is worded.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY)


@gateway_input(description="The payment intent to act on.")
class PaymentIntentActionInput:
    id: strawberry.ID = strawberry.field(description=INTENT_ID)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY)


@gateway_input(description="What to capture of an AUTHORIZED payment intent.")
class CapturePaymentIntentInput:
    id: strawberry.ID = strawberry.field(description=INTENT_ID)
    amount: int | None = strawberry.field(
        default=None, description="In minor units, 1 up to amountCapturable; the rest of the "
                                  "authorization is released. Default: all of it.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY)


@gateway_input(description="The AUTHORIZED payment intent to release.")
class VoidPaymentIntentInput:
    id: strawberry.ID = strawberry.field(description=INTENT_ID)
    reason: str | None = strawberry.field(default=None,
                                          description="Why; up to 500 characters.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY)


@gateway_input(description="What to refund of a captured payment intent.")
class RefundPaymentIntentInput:
    id: strawberry.ID = strawberry.field(description=INTENT_ID)
    amount: int | None = strawberry.field(
        default=None, description="In minor units, 1 up to captured minus refunded. Default: "
                                  "all that is left.")
    reason: str | None = strawberry.field(default=None,
                                          description="Why; up to 500 characters.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY)


@gateway_input(description="The shopper's card. Never stored, logged or returned: only its "
                           "brand, last 4 digits and expiry are kept.")
class CardInput:
    number: str = strawberry.field(description="13 to 19 digits (spaces and dashes are "
                                               "ignored); Visa or Mastercard.")
    cardholder_name: str = strawberry.field(description="The name on the card.")
    exp_month: int = strawberry.field(description="1 to 12.")
    exp_year: int = strawberry.field(description="4 digits, or 2 (26 is 2026); the expiry "
                                                "must not be past.")
    cvc: str = strawberry.field(description="Exactly 3 digits.")


@gateway_input(description="A card to pay a payment intent with.")
class ConfirmPaymentIntentInput:
    id: strawberry.ID = strawberry.field(description=INTENT_ID)
    client_secret: str = strawberry.field(description="The intent's clientSecret.")
    card: CardInput = strawberry.field(description="The card.")


@gateway_input(description="The merchant to send a test webhook to.")
class SendTestWebhookInput:
    merchant_id: strawberry.ID = strawberry.field(description="The merchant's id.")


@gateway_input(description="The event to send again.")
class RedeliverEventInput:
    id: strawberry.ID = strawberry.field(description="The event's id.")
    endpoint_id: strawberry.ID | None = strawberry.field(
        default=None, description="One webhook endpoint the event was for; default: every "
                                  "one it was for.")


def _line_items(items: list[LineItemInput] | None) -> list[LineItem] | None:
    if items is None:
        return None
    return [LineItem(name=item.name, quantity=item.quantity, unit_amount=item.unit_amount)
            for item in items]


@strawberry.type(description="The result of sendTestWebhook or redeliverEvent.")
class EventPayload:
    user_errors: list[UserErrorType] = strawberry.field(description=USER_ERRORS)
    event: Event | None = strawberry.field(default=None, description="The event sent.")


def _event(model) -> dict:
    return {"event": Event.of(model)}


@strawberry.type(description="The result of an operation on a payment intent.")
class PaymentIntentPayload:
    user_errors: list[UserErrorType] = strawberry.field(description=USER_ERRORS)
    payment_intent: PaymentIntent | None = strawberry.field(
        default=None, description="The payment intent as it now stands.")


@strawberry.type(description="The result of refundPaymentIntent.")
class RefundPayload:
    user_errors: list[UserErrorType] = strawberry.field(description=USER_ERRORS)
    refund: Refund | None = strawberry.field(default=None, description="The new refund.")
    payment_intent: PaymentIntent | None = strawberry.field(
        default=None, description="The refunded payment intent as it now stands.")


def _intent(model: IntentModel) -> dict:
    return {"payment_intent": PaymentIntent.of(model)}


@strawberry.type(description="The result of confirmPaymentIntent.")
class ConfirmPaymentIntentPayload:
    user_errors: list[UserErrorType] = strawberry.field(
        description=USER_ERRORS + " PAYMENT_DECLINED still returns the intent.")
    checkout_session: CheckoutSession | None = strawberry.field(
        default=None, description="The shopper's view; also on PAYMENT_DECLINED.")
    payment_intent: PaymentIntent | None = strawberry.field(
        default=None, description="Null unless the request carries the API key of the "
                                  "intent's merchant.")


def _confirmed(caller: Caller) -> Callable[[IntentModel], dict]:
    """The confirm's payload: the shopper's view, and the whole intent for its merchant."""
    def build(model: IntentModel) -> dict:
        merchant_view = shopper.merchant_sees_confirmed_intent(caller, model)
        return {"checkout_session": CheckoutSession.of(model),
                "payment_intent": PaymentIntent.of(model) if merchant_view else None}
    return build


MERCHANT_ID = ("The merchant whose list to read: required with a user token (any member), "
               "optional with an API key (its own merchant).")
FIRST = "How many items, 0 to 100 (else VALIDATION_ERROR)."
AFTER = ("The endCursor of the previous page; a cursor that does not decode is "
         "VALIDATION_ERROR.")


@strawberry.type
class PaymentQuery:
    @strawberry.field(description="A payment intent, with the API key of its merchant or the "
                                  "user token of one of its members; null when you may not "
                                  "see it.")
    async def payment_intent(
            self, info: Info,
            id: Annotated[strawberry.ID, strawberry.argument(description=INTENT_ID)]
    ) -> PaymentIntent | None:
        model = await payment_intents.find_for(await caller_of(info), id)
        return PaymentIntent.of(model) if model else None

    @strawberry.field(description="A merchant's payment intents, newest first; any member's "
                                  "user token or the merchant's API key.")
    async def payment_intents(
            self, info: Info,
            merchant_id: Annotated[strawberry.ID | None,
                                   strawberry.argument(description=MERCHANT_ID)] = None,
            status: Annotated[PaymentIntentStatus | None, strawberry.argument(
                description="Only intents in this status.")] = None,
            first: Annotated[int, strawberry.argument(description=FIRST)] = 20,
            after: Annotated[str | None, strawberry.argument(description=AFTER)] = None
    ) -> Connection[PaymentIntent]:
        rows, more = await payment_intents.list_intents(await caller_of(info), merchant_id,
                                                        status, first, after)
        return Connection(**connection(rows, more, PaymentIntent.of))

    @strawberry.field(description="The shopper's view of a payment intent, with its client "
                                  "secret (no other credential needed); null when the id or "
                                  "the secret does not match.")
    async def checkout_session(
            self, id: Annotated[strawberry.ID, strawberry.argument(description=INTENT_ID)],
            client_secret: Annotated[str, strawberry.argument(
                description="The intent's clientSecret.")]) -> CheckoutSession | None:
        try:
            return CheckoutSession.of(await payment_intents.checkout_session(id, client_secret))
        except UserError:
            return None

    @strawberry.field(description="A merchant's events, newest first; any member's user token "
                                  "or the merchant's API key.")
    async def events(
            self, info: Info,
            merchant_id: Annotated[strawberry.ID | None,
                                   strawberry.argument(description=MERCHANT_ID)] = None,
            type: Annotated[str | None, strawberry.argument(
                description='Only events of this type, e.g. "payment_intent.captured"; one '
                            'webhookEventTypes does not list is a VALIDATION_ERROR.')] = None,
            first: Annotated[int, strawberry.argument(description=FIRST)] = 20,
            after: Annotated[str | None, strawberry.argument(description=AFTER)] = None
    ) -> Connection[Event]:
        rows, more = await webhooks.list_events(await caller_of(info), merchant_id, type,
                                                first, after)
        return Connection(**connection(rows, more, Event.of))


@strawberry.type
class PaymentMutation:
    @strawberry.mutation(description="Ask for a payment: AWAITING_PAYMENT_METHOD, with a "
                                     "checkoutUrl for the shopper. The merchant's API key only "
                                     "(a user token is FORBIDDEN). Errors: VALIDATION_ERROR, "
                                     "IDEMPOTENCY_KEY_REUSED.")
    async def create_payment_intent(
            self, info: Info,
            input: Annotated[CreatePaymentIntentInput, strawberry.argument(description=INPUT)]
    ) -> PaymentIntentPayload:
        request = payment_intents.NewIntent(
            amount=input.amount, currency=input.currency, success_url=input.success_url,
            cancel_url=input.cancel_url, capture_method=input.capture_method,
            description=input.description, order_id=input.order_id,
            customer_email=input.customer_email, metadata=input.metadata,
            line_items=_line_items(input.line_items), locale=input.locale,
            submit_type=input.submit_type)
        action = payment_intents.create(await caller_of(info), request, input.idempotency_key)
        return await payload(PaymentIntentPayload, action, _intent)

    @strawberry.mutation(description="Cancel an unpaid intent (CANCELED), or release an "
                                     "AUTHORIZED one (VOIDED). API key, or OWNER, ADMIN or "
                                     "MANAGER. Errors: INVALID_STATE, NOT_FOUND, "
                                     "IDEMPOTENCY_KEY_REUSED.")
    async def cancel_payment_intent(
            self, info: Info,
            input: Annotated[PaymentIntentActionInput, strawberry.argument(description=INPUT)]
    ) -> PaymentIntentPayload:
        action = payment_intents.cancel(await caller_of(info), input.id, input.idempotency_key)
        return await payload(PaymentIntentPayload, action, _intent)

    @strawberry.mutation(description="Charge an AUTHORIZED intent (CAPTURED). API key, or "
                                     "OWNER, ADMIN or MANAGER. Errors: VALIDATION_ERROR, "
                                     "INVALID_STATE, NOT_FOUND, IDEMPOTENCY_KEY_REUSED.")
    async def capture_payment_intent(
            self, info: Info,
            input: Annotated[CapturePaymentIntentInput, strawberry.argument(description=INPUT)]
    ) -> PaymentIntentPayload:
        action = payment_intents.capture(await caller_of(info), input.id, input.amount,
                                         input.idempotency_key)
        return await payload(PaymentIntentPayload, action, _intent)

    @strawberry.mutation(description="Release an AUTHORIZED intent without charge (VOIDED). "
                                     "API key, or OWNER, ADMIN or MANAGER. Errors: "
                                     "INVALID_STATE, NOT_FOUND, IDEMPOTENCY_KEY_REUSED.")
    async def void_payment_intent(
            self, info: Info,
            input: Annotated[VoidPaymentIntentInput, strawberry.argument(description=INPUT)]
    ) -> PaymentIntentPayload:
        action = payment_intents.void(await caller_of(info), input.id, input.reason,
                                      input.idempotency_key)
        return await payload(PaymentIntentPayload, action, _intent)

    @strawberry.mutation(description="Give back money from a CAPTURED or PARTIALLY_REFUNDED "
                                     "intent. API key, or OWNER, ADMIN or MANAGER. Errors: "
                                     "VALIDATION_ERROR, INVALID_STATE, NOT_FOUND, "
                                     "IDEMPOTENCY_KEY_REUSED.")
    async def refund_payment_intent(
            self, info: Info,
            input: Annotated[RefundPaymentIntentInput, strawberry.argument(description=INPUT)]
    ) -> RefundPayload:
        action = payment_intents.refund(await caller_of(info), input.id, input.amount,
                                        input.reason, input.idempotency_key)
        return await payload(RefundPayload, action, lambda pair: {
            "refund": Refund.of(pair[0]), "payment_intent": PaymentIntent.of(pair[1])})

    @strawberry.mutation(description="Pay with a card, with the intent's client secret (the "
                                     "shopper). Sent with the merchant's API key, it also "
                                     "returns the whole intent. Errors: VALIDATION_ERROR, "
                                     "INVALID_CLIENT_SECRET, NOT_FOUND, PAYMENT_DECLINED, "
                                     "INTENT_EXPIRED, MAX_ATTEMPTS_REACHED, "
                                     "PAYMENT_ALREADY_COMPLETED, INVALID_STATE.")
    async def confirm_payment_intent(
            self, info: Info,
            input: Annotated[ConfirmPaymentIntentInput, strawberry.argument(description=INPUT)]
    ) -> ConfirmPaymentIntentPayload:
        caller = await caller_of(info)  # before paying: a bad key must not follow a payment
        card = payment_intents.CardInput(
            number=input.card.number, cardholder_name=input.card.cardholder_name,
            exp_month=input.card.exp_month, exp_year=input.card.exp_year, cvc=input.card.cvc)
        action = payment_intents.confirm(input.id, input.client_secret, card)
        return await payload(ConfirmPaymentIntentPayload, action, _confirmed(caller))

    @strawberry.mutation(description="Send a webhook.test event to the merchant's webhook "
                                     "endpoints. OWNER or ADMIN. Errors: VALIDATION_ERROR "
                                     "(no webhook endpoint), NOT_FOUND.")
    async def send_test_webhook(
            self, info: Info,
            input: Annotated[SendTestWebhookInput, strawberry.argument(description=INPUT)]
    ) -> EventPayload:
        action = webhooks.send_test(await caller_of(info), input.merchant_id)
        return await payload(EventPayload, action, _event)

    @strawberry.mutation(description="Send an event again now, with the same webhook-id and a "
                                     "fresh round of retries. API key, or OWNER or ADMIN. "
                                     "Errors: VALIDATION_ERROR (meant for no endpoint, or "
                                     "not for endpointId), NOT_FOUND.")
    async def redeliver_event(
            self, info: Info,
            input: Annotated[RedeliverEventInput, strawberry.argument(description=INPUT)]
    ) -> EventPayload:
        action = webhooks.redeliver(await caller_of(info), input.id, input.endpoint_id)
        return await payload(EventPayload, action, _event)
