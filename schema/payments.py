"""Queries and mutations of payments and events."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.errors import UserError
from models.payment_intents import PaymentIntent as IntentModel
from resolvers import payment_intents, webhooks
from resolvers.access import Caller
from resolvers.payment_intents import shopper
from schema.context import caller_of
from schema.enums import CaptureMethod, PaymentIntentStatus
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


@gateway_input
class CreatePaymentIntentInput:
    amount: int = strawberry.field(description="In minor units (cents): 1 to 99,999,999.")
    currency: str
    success_url: str
    cancel_url: str | None = None
    capture_method: CaptureMethod = CaptureMethod.AUTOMATIC
    description: str | None = None
    order_id: str | None = None
    customer_email: str | None = None
    metadata: JSON | None = None
    idempotency_key: str | None = None


@gateway_input
class PaymentIntentActionInput:
    id: strawberry.ID
    idempotency_key: str | None = None


@gateway_input
class CapturePaymentIntentInput:
    id: strawberry.ID
    amount: int | None = strawberry.field(default=None, description="Default: all of it.")
    idempotency_key: str | None = None


@gateway_input
class VoidPaymentIntentInput:
    id: strawberry.ID
    reason: str | None = None
    idempotency_key: str | None = None


@gateway_input
class RefundPaymentIntentInput:
    id: strawberry.ID
    amount: int | None = strawberry.field(default=None, description="Default: all that is left.")
    reason: str | None = None
    idempotency_key: str | None = None


@gateway_input
class CardInput:
    number: str
    cardholder_name: str
    exp_month: int
    exp_year: int
    cvc: str


@gateway_input
class ConfirmPaymentIntentInput:
    id: strawberry.ID
    client_secret: str
    card: CardInput


@gateway_input
class SendTestWebhookInput:
    merchant_id: strawberry.ID


@gateway_input
class RedeliverEventInput:
    id: strawberry.ID


@strawberry.type
class EventPayload:
    user_errors: list[UserErrorType]
    event: Event | None = None


def _event(model) -> dict:
    return {"event": Event.of(model)}


@strawberry.type
class PaymentIntentPayload:
    user_errors: list[UserErrorType]
    payment_intent: PaymentIntent | None = None


@strawberry.type
class RefundPayload:
    user_errors: list[UserErrorType]
    refund: Refund | None = None
    payment_intent: PaymentIntent | None = None


def _intent(model: IntentModel) -> dict:
    return {"payment_intent": PaymentIntent.of(model)}


@strawberry.type
class ConfirmPaymentIntentPayload:
    user_errors: list[UserErrorType]
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


@strawberry.type
class PaymentQuery:
    @strawberry.field(description="Null when the intent is not visible to the caller.")
    async def payment_intent(self, info: Info, id: strawberry.ID) -> PaymentIntent | None:
        model = await payment_intents.find_for(await caller_of(info), id)
        return PaymentIntent.of(model) if model else None

    @strawberry.field(description="Newest first; merchantId is required with a user token.")
    async def payment_intents(
            self, info: Info, merchant_id: strawberry.ID | None = None,
            status: PaymentIntentStatus | None = None, first: int = 20,
            after: str | None = None) -> Connection[PaymentIntent]:
        rows, more = await payment_intents.list_intents(await caller_of(info), merchant_id,
                                                        status, first, after)
        return Connection(**connection(rows, more, PaymentIntent.of))

    @strawberry.field(description="The shopper's view, by client secret.")
    async def checkout_session(self, id: strawberry.ID,
                               client_secret: str) -> CheckoutSession | None:
        try:
            return CheckoutSession.of(await payment_intents.checkout_session(id, client_secret))
        except UserError:
            return None

    @strawberry.field(description="Newest first; merchantId is required with a user token.")
    async def events(self, info: Info, merchant_id: strawberry.ID | None = None,
                     type: str | None = None, first: int = 20,
                     after: str | None = None) -> Connection[Event]:
        rows, more = await webhooks.list_events(await caller_of(info), merchant_id, type,
                                                first, after)
        return Connection(**connection(rows, more, Event.of))


@strawberry.type
class PaymentMutation:
    @strawberry.mutation(description="With the merchant's API key.")
    async def create_payment_intent(self, info: Info,
                                    input: CreatePaymentIntentInput) -> PaymentIntentPayload:
        request = payment_intents.NewIntent(
            amount=input.amount, currency=input.currency, success_url=input.success_url,
            cancel_url=input.cancel_url, capture_method=input.capture_method,
            description=input.description, order_id=input.order_id,
            customer_email=input.customer_email, metadata=input.metadata)
        action = payment_intents.create(await caller_of(info), request, input.idempotency_key)
        return await payload(PaymentIntentPayload, action, _intent)

    @strawberry.mutation
    async def cancel_payment_intent(self, info: Info,
                                    input: PaymentIntentActionInput) -> PaymentIntentPayload:
        action = payment_intents.cancel(await caller_of(info), input.id, input.idempotency_key)
        return await payload(PaymentIntentPayload, action, _intent)

    @strawberry.mutation
    async def capture_payment_intent(self, info: Info,
                                     input: CapturePaymentIntentInput) -> PaymentIntentPayload:
        action = payment_intents.capture(await caller_of(info), input.id, input.amount,
                                         input.idempotency_key)
        return await payload(PaymentIntentPayload, action, _intent)

    @strawberry.mutation
    async def void_payment_intent(self, info: Info,
                                  input: VoidPaymentIntentInput) -> PaymentIntentPayload:
        action = payment_intents.void(await caller_of(info), input.id, input.reason,
                                      input.idempotency_key)
        return await payload(PaymentIntentPayload, action, _intent)

    @strawberry.mutation
    async def refund_payment_intent(self, info: Info,
                                    input: RefundPaymentIntentInput) -> RefundPayload:
        action = payment_intents.refund(await caller_of(info), input.id, input.amount,
                                        input.reason, input.idempotency_key)
        return await payload(RefundPayload, action, lambda pair: {
            "refund": Refund.of(pair[0]), "payment_intent": PaymentIntent.of(pair[1])})

    @strawberry.mutation(description="With the intent's client secret (the shopper). The "
                                     "merchant's API key also returns the whole intent.")
    async def confirm_payment_intent(self, info: Info, input: ConfirmPaymentIntentInput
                                     ) -> ConfirmPaymentIntentPayload:
        caller = await caller_of(info)  # before paying: a bad key must not follow a payment
        card = payment_intents.CardInput(
            number=input.card.number, cardholder_name=input.card.cardholder_name,
            exp_month=input.card.exp_month, exp_year=input.card.exp_year, cvc=input.card.cvc)
        action = payment_intents.confirm(input.id, input.client_secret, card)
        return await payload(ConfirmPaymentIntentPayload, action, _confirmed(caller))

    @strawberry.mutation(description="Sends a webhook.test event to the merchant's URL.")
    async def send_test_webhook(self, info: Info, input: SendTestWebhookInput) -> EventPayload:
        action = webhooks.send_test(await caller_of(info), input.merchant_id)
        return await payload(EventPayload, action, _event)

    @strawberry.mutation(description="Sends an event again, with the same webhook-id.")
    async def redeliver_event(self, info: Info, input: RedeliverEventInput) -> EventPayload:
        action = webhooks.redeliver(await caller_of(info), input.id)
        return await payload(EventPayload, action, _event)
