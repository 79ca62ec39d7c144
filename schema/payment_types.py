"""GraphQL types of payments: intents, refunds, the checkout session, events, connections."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON
from strawberry.types import Info

from core.clock import now
from models.events import Event as EventModel
from models.events import WebhookDelivery as DeliveryModel
from models.payment_intents import PaymentIntent as IntentModel
from models.payment_intents import Refund as RefundModel
from resolvers import paging, payment_intents, webhooks
from resolvers.payment_intents import shopper
from schema.enums import CaptureMethod, PaymentIntentStatus

T = TypeVar("T")


@strawberry.type
class CardDetails:
    brand: str
    last4: str
    exp_month: int
    exp_year: int

    @staticmethod
    def of(intent: IntentModel) -> CardDetails | None:
        """The last card tried: brand, last 4 and expiry, all that is ever stored."""
        if not intent.card_last4:
            return None
        return CardDetails(brand=intent.card_brand, last4=intent.card_last4,
                           exp_month=intent.card_exp_month, exp_year=intent.card_exp_year)


@strawberry.type
class PaymentError:
    code: str = strawberry.field(description='The issuer\'s response code, e.g. "51".')
    message: str

    @staticmethod
    def of(intent: IntentModel) -> PaymentError | None:
        if not intent.last_error_code:
            return None
        return PaymentError(code=intent.last_error_code,
                            message=intent.last_error_message or "")


@strawberry.type
class Refund:
    id: strawberry.ID
    payment_intent_id: strawberry.ID
    amount: int
    reason: str | None
    status: str
    created_at: datetime

    @staticmethod
    def of(model: RefundModel) -> Refund:
        return Refund(id=model.id, payment_intent_id=model.payment_intent_id,
                      amount=model.amount, reason=model.reason, status=model.status,
                      created_at=model.created_at)


def refund_loader(info: Info) -> DataLoader[str, list[RefundModel]]:
    """One query for the refunds of every intent in the response."""
    loaders = info.context.loaders
    if "refunds" not in loaders:
        loaders["refunds"] = DataLoader(load_fn=payment_intents.refunds_of)
    return loaders["refunds"]


@strawberry.type
class IntentFacts:
    """The fields the merchant's PaymentIntent and the shopper's CheckoutSession share, read
    from the stored intent. Not a type of the schema by itself."""

    model: strawberry.Private[IntentModel]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.model.id)

    @strawberry.field(description="EXPIRED as soon as expiresAt passes, even before the "
                                  "worker records it.")
    def status(self) -> PaymentIntentStatus:
        return self.model.effective_status(now())

    @strawberry.field(description="In minor units (cents).")
    def amount(self) -> int:
        return self.model.amount

    @strawberry.field
    def currency(self) -> str:
        return self.model.currency

    @strawberry.field
    def description(self) -> str | None:
        return self.model.description

    @strawberry.field
    def success_url(self) -> str:
        return self.model.success_url

    @strawberry.field
    def cancel_url(self) -> str | None:
        return self.model.cancel_url

    @strawberry.field
    def expires_at(self) -> datetime:
        return self.model.expires_at

    @strawberry.field
    def attempt_count(self) -> int:
        return self.model.attempt_count

    @strawberry.field
    def card(self) -> CardDetails | None:
        return CardDetails.of(self.model)

    @strawberry.field
    def last_payment_error(self) -> PaymentError | None:
        return PaymentError.of(self.model)


@strawberry.type
class PaymentIntent(IntentFacts):
    @staticmethod
    def of(model: IntentModel) -> PaymentIntent:
        return PaymentIntent(model=model)

    @strawberry.field
    def merchant_id(self) -> strawberry.ID:
        return strawberry.ID(self.model.merchant_id)

    @strawberry.field
    def capture_method(self) -> CaptureMethod:
        return self.model.capture_method

    @strawberry.field
    def order_id(self) -> str | None:
        return self.model.order_id

    @strawberry.field
    def customer_email(self) -> str | None:
        return self.model.customer_email

    @strawberry.field
    def metadata(self) -> JSON | None:
        return self.model.metadata

    @strawberry.field(description="Hand it to the shopper's browser only.")
    def client_secret(self) -> str:
        return self.model.client_secret

    @strawberry.field
    def checkout_url(self) -> str:
        return payment_intents.checkout_url(self.model)

    @strawberry.field
    def created_at(self) -> datetime:
        return self.model.created_at

    @strawberry.field
    def max_attempts(self) -> int:
        return self.model.max_attempts

    @strawberry.field
    def amount_capturable(self) -> int:
        return self.model.amount_capturable

    @strawberry.field
    def amount_captured(self) -> int:
        return self.model.amount_captured

    @strawberry.field
    def amount_refunded(self) -> int:
        return self.model.amount_refunded

    @strawberry.field
    async def refunds(self, info: Info) -> list[Refund]:
        return [Refund.of(r) for r in await refund_loader(info).load(self.model.id)]


@strawberry.type
class CheckoutSession(IntentFacts):
    """What the holder of the client secret (the shopper) may see (CONTRACT §12.3): never the
    client secret, metadata, the customer's email, the order id or refunds."""

    @staticmethod
    def of(model: IntentModel) -> CheckoutSession:
        return CheckoutSession(model=model)

    @strawberry.field
    async def merchant_name(self) -> str:
        return await shopper.merchant_name(self.model)

    @strawberry.field(description="Cards the shopper may still try: 0 once the intent cannot "
                                  "be paid any more.")
    def remaining_attempts(self) -> int:
        return shopper.remaining_attempts(self.model, now())


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo


def connection(rows: list, has_next: bool, wrap) -> dict:
    edges = [Edge(cursor=paging.cursor_of(row), node=wrap(row)) for row in rows]
    return {"edges": edges, "page_info": PageInfo(
        has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None)}


@strawberry.type
class WebhookDelivery:
    id: strawberry.ID
    attempt: int
    url: str
    response_status: int | None
    error: str | None
    succeeded: bool
    latency_ms: int | None
    created_at: datetime
    next_retry_at: datetime | None

    @staticmethod
    def of(model: DeliveryModel) -> WebhookDelivery:
        return WebhookDelivery(id=model.id, attempt=model.attempt, url=model.url,
                               response_status=model.response_status, error=model.error,
                               succeeded=model.succeeded, latency_ms=model.latency_ms,
                               created_at=model.created_at, next_retry_at=model.next_retry_at)


def delivery_loader(info: Info) -> DataLoader[str, list[DeliveryModel]]:
    loaders = info.context.loaders
    if "deliveries" not in loaders:
        loaders["deliveries"] = DataLoader(load_fn=webhooks.deliveries_of)
    return loaders["deliveries"]


@strawberry.type
class Event:
    id: strawberry.ID
    type: str
    created_at: datetime
    data: JSON
    delivery_state: str = strawberry.field(
        description="NONE (no webhook URL), PENDING, DELIVERED or FAILED")
    model: strawberry.Private[EventModel]

    @staticmethod
    def of(model: EventModel) -> Event:
        return Event(id=model.id, type=model.type, created_at=model.created_at,
                     data=model.data, delivery_state=model.delivery_state.value, model=model)

    @strawberry.field
    async def deliveries(self, info: Info) -> list[WebhookDelivery]:
        return [WebhookDelivery.of(d) for d in await delivery_loader(info).load(self.id)]
