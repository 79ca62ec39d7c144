"""GraphQL types of payments: intents, refunds, the checkout session, events, connections."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON
from strawberry.types import Info

from core.clock import now
from models.events import DeliveryState
from models.events import Event as EventModel
from models.events import WebhookDelivery as DeliveryModel
from models.payment_intents import PaymentIntent as IntentModel
from models.payment_intents import Refund as RefundModel
from resolvers import merchants, paging, payment_intents, webhooks
from resolvers.money import balance as money_balance
from resolvers.payment_intents import shopper
from schema.account_types import Branding
from schema.context import caller_of, loader
from schema.enums import CaptureMethod, PaymentIntentStatus, SubmitType
from schema.money_types import (
    BalanceTransaction,
    Dispute,
    intent_disputes,
    intent_transactions,
)

T = TypeVar("T")


@strawberry.type(description="The card last tried: all the gateway keeps of it (never the "
                             "number or the CVC).")
class CardDetails:
    brand: str = strawberry.field(description='"visa" or "mastercard".')
    last4: str = strawberry.field(description="The number's last 4 digits.")
    exp_month: int = strawberry.field(description="Expiry month, 1 to 12.")
    exp_year: int = strawberry.field(description="Expiry year, 4 digits.")

    @staticmethod
    def of(intent: IntentModel) -> CardDetails | None:
        """The last card tried: brand, last 4 and expiry, all that is ever stored."""
        if not intent.card_last4:
            return None
        return CardDetails(brand=intent.card_brand, last4=intent.card_last4,
                           exp_month=intent.card_exp_month, exp_year=intent.card_exp_year)


@strawberry.type(description="Why the last card attempt was declined.")
class PaymentError:
    code: str = strawberry.field(description='The issuer\'s response code, e.g. "51" '
                                             '(insufficient funds).')
    message: str = strawberry.field(description="The decline reason, for the shopper.")

    @staticmethod
    def of(intent: IntentModel) -> PaymentError | None:
        if not intent.last_error_code:
            return None
        return PaymentError(code=intent.last_error_code,
                            message=intent.last_error_message or "")


@strawberry.type(description="One line of what a payment intent is for, as the checkout "
                             "page lists it.")
class LineItem:
    name: str = strawberry.field(description="What is sold, 1 to 200 characters.")
    quantity: int = strawberry.field(description="How many, 1 to 999.")
    unit_amount: int = strawberry.field(description="The price of one, in minor units.")
    amount: int = strawberry.field(description="quantity × unitAmount, in minor units.")

    @staticmethod
    def all_of(intent: IntentModel) -> list[LineItem]:
        return [LineItem(name=item["name"], quantity=item["quantity"],
                         unit_amount=item["unit_amount"], amount=item["amount"])
                for item in intent.line_items or []]


@strawberry.type(description="Money given back from a captured payment intent "
                             "(refundPaymentIntent).")
class Refund:
    id: strawberry.ID = strawberry.field(description="The refund's id.")
    payment_intent_id: strawberry.ID = strawberry.field(
        description="The payment intent refunded.")
    amount: int = strawberry.field(description="In minor units (cents).")
    reason: str | None = strawberry.field(description="The reason given with the refund.")
    status: str = strawberry.field(description='"succeeded": refunds complete at once.')
    created_at: datetime = strawberry.field(description="When it was made.")

    @staticmethod
    def of(model: RefundModel) -> Refund:
        return Refund(id=model.id, payment_intent_id=model.payment_intent_id,
                      amount=model.amount, reason=model.reason, status=model.status,
                      created_at=model.created_at)


def refund_loader(info: Info) -> DataLoader[str, list[RefundModel]]:
    """One query for the refunds of every intent in the response."""
    return loader(info, "refunds", payment_intents.refunds_of)


@strawberry.type
class IntentFacts:
    """The fields the merchant's PaymentIntent and the shopper's CheckoutSession share, read
    from the stored intent. Not a type of the schema by itself."""

    model: strawberry.Private[IntentModel]

    @strawberry.field(description="The payment intent's id (pi_...).")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.model.id)

    @strawberry.field(description="EXPIRED as soon as expiresAt passes, even before the "
                                  "worker records it.")
    def status(self) -> PaymentIntentStatus:
        return self.model.effective_status(now())

    @strawberry.field(description="In minor units (cents).")
    def amount(self) -> int:
        return self.model.amount

    @strawberry.field(description="ISO 4217 code, upper-case (e.g. USD).")
    def currency(self) -> str:
        return self.model.currency

    @strawberry.field(description="The merchant's text for the shopper, shown at checkout.")
    def description(self) -> str | None:
        return self.model.description

    @strawberry.field(description="Where the shopper goes after paying; {CHECKOUT_SESSION_ID} "
                                  "is replaced and payment_intent=<id> added.")
    def success_url(self) -> str:
        return self.model.success_url

    @strawberry.field(description="Where the shopper goes when the payment cannot complete; "
                                  "null: the checkout page says so itself.")
    def cancel_url(self) -> str | None:
        return self.model.cancel_url

    @strawberry.field(description="The payment deadline: creation + the gateway's intent "
                                  "lifetime (one hour by default).")
    def expires_at(self) -> datetime:
        return self.model.expires_at

    @strawberry.field(description="Card attempts so far (declined ones included; invalid "
                                  "card fields do not count).")
    def attempt_count(self) -> int:
        return self.model.attempt_count

    @strawberry.field(description="The card last tried; null before any attempt.")
    def card(self) -> CardDetails | None:
        return CardDetails.of(self.model)

    @strawberry.field(description="Why the last attempt was declined; null if it was not.")
    def last_payment_error(self) -> PaymentError | None:
        return PaymentError.of(self.model)

    @strawberry.field(description="What is paid for, as given at creation (at most 100); "
                                  "empty when none were.")
    def line_items(self) -> list[LineItem]:
        return LineItem.all_of(self.model)

    @strawberry.field(description="How the checkout page's button is worded.")
    def submit_type(self) -> SubmitType:
        return SubmitType(self.model.submit_type)


@strawberry.type(description="A payment the merchant asks for: created with its API key, paid "
                             "by the shopper through checkoutUrl. Visible to the merchant's API "
                             "key and to its members' user tokens.")
class PaymentIntent(IntentFacts):
    @staticmethod
    def of(model: IntentModel) -> PaymentIntent:
        return PaymentIntent(model=model)

    @strawberry.field(description="The merchant that is paid.")
    def merchant_id(self) -> strawberry.ID:
        return strawberry.ID(self.model.merchant_id)

    @strawberry.field(description='The checkout page\'s language as given at creation: "en", '
                                  '"fr" or "ar"; null: the shopper\'s browser decides.')
    def locale(self) -> str | None:
        return self.model.locale

    @strawberry.field(description="AUTOMATIC: charged on approval; MANUAL: authorized, "
                                  "capture it later.")
    def capture_method(self) -> CaptureMethod:
        return self.model.capture_method

    @strawberry.field(description="Your own reference for the order.")
    def order_id(self) -> str | None:
        return self.model.order_id

    @strawberry.field(description="The shopper's email, if you gave it.")
    def customer_email(self) -> str | None:
        return self.model.customer_email

    @strawberry.field(description="Your flat key-value data (string values), returned as "
                                  "given and in webhooks.")
    def metadata(self) -> JSON | None:
        return self.model.metadata

    @strawberry.field(description="Starts with pi_secret_: lets its holder see and pay this one "
                                  "intent. Hand it to the shopper's browser only.")
    def client_secret(self) -> str:
        return self.model.client_secret

    @strawberry.field(description="The hosted checkout page for the shopper: "
                                  "PUBLIC_BASE_URL/checkout/{id}?client_secret=...")
    def checkout_url(self) -> str:
        return payment_intents.checkout_url(self.model)

    @strawberry.field(description="When it was created.")
    def created_at(self) -> datetime:
        return self.model.created_at

    @strawberry.field(description="Declined attempts allowed: the 5th decline makes it FAILED.")
    def max_attempts(self) -> int:
        return self.model.max_attempts

    @strawberry.field(description="Authorized and not yet captured, in minor units; 0 unless "
                                  "AUTHORIZED.")
    def amount_capturable(self) -> int:
        return self.model.amount_capturable

    @strawberry.field(description="Charged, in minor units.")
    def amount_captured(self) -> int:
        return self.model.amount_captured

    @strawberry.field(description="Refunded so far, in minor units.")
    def amount_refunded(self) -> int:
        return self.model.amount_refunded

    @strawberry.field(description="Its refunds, oldest first.")
    async def refunds(self, info: Info) -> list[Refund]:
        return [Refund.of(r) for r in await refund_loader(info).load(self.model.id)]

    # Money (CONTRACT §13): for the API key and the roles that read the balance; STAFF sees
    # null and empty lists.
    async def _sees_money(self, info: Info) -> bool:
        return await money_balance.may_read(await caller_of(info), self.model.merchant_id)

    @strawberry.field(description="The fee of its capture, in minor units; null before a "
                                  "capture, and for STAFF.")
    async def fee(self, info: Info) -> int | None:
        return self.model.fee if await self._sees_money(info) else None

    @strawberry.field(description="Every balance transaction naming it, oldest first; empty "
                                  "for STAFF.")
    async def balance_transactions(self, info: Info) -> list[BalanceTransaction]:
        if not await self._sees_money(info):
            return []
        return await intent_transactions(info, self.model.id)

    @strawberry.field(description="Its disputes; empty for STAFF.")
    async def disputes(self, info: Info) -> list[Dispute]:
        if not await self._sees_money(info):
            return []
        return await intent_disputes(info, self.model.id)


@strawberry.type(description="The shopper's view of a payment intent, for the holder of its "
                             "client secret: no client secret, metadata, customer email, "
                             "order id or refunds.")
class CheckoutSession(IntentFacts):
    """What the holder of the client secret (the shopper) may see (CONTRACT §12.3): never the
    client secret, metadata, the customer's email, the order id or refunds."""

    @staticmethod
    def of(model: IntentModel) -> CheckoutSession:
        return CheckoutSession(model=model)

    @strawberry.field(description="The business name of the merchant being paid.")
    async def merchant_name(self) -> str:
        return await shopper.merchant_name(self.model)

    @strawberry.field(description="Cards the shopper may still try: 0 once the intent cannot "
                                  "be paid any more.")
    def remaining_attempts(self) -> int:
        return shopper.remaining_attempts(self.model, now())

    @strawberry.field(description='The page\'s language given at creation ("en", "fr" or '
                                  '"ar"); "en" when none was (the page then follows the '
                                  "shopper's Accept-Language).")
    def locale(self) -> str:
        return self.model.locale or "en"

    @strawberry.field(description="How the merchant's checkout page looks.")
    async def branding(self) -> Branding:
        return Branding.of(await merchants.intent_branding(self.model))


@strawberry.type(description="Where a page stands in its list (Relay). Lists page forward "
                             "only: pass endCursor as `after` to get the next page.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether more items follow this page.")
    end_cursor: str | None = strawberry.field(
        description="The last item's cursor; null on an empty page.")
    has_previous_page: bool = strawberry.field(
        default=False, description="Always false: lists page forward only (Relay).")


@strawberry.type(description="One item of a list, with its cursor (Relay).")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Pass it as `after` to continue after this "
                                               "item.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list, newest first (Relay): at most `first` items "
                             "(up to 100) after the `after` cursor.")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The page's items, newest first.")
    page_info: PageInfo = strawberry.field(description="Whether more items follow, and the "
                                                       "cursor to get them.")


def connection(rows: list, has_next: bool, wrap) -> dict:
    edges = [Edge(cursor=paging.cursor_of(row), node=wrap(row)) for row in rows]
    return {"edges": edges, "page_info": PageInfo(
        has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None)}


@strawberry.type(description="One attempt to POST an event to the merchant's webhook URL.")
class WebhookDelivery:
    id: strawberry.ID = strawberry.field(description="The attempt's id.")
    endpoint_id: strawberry.ID | None = strawberry.field(
        description="The webhook endpoint it went to.")
    attempt: int = strawberry.field(description="Its number among the event's attempts at "
                                                 "that endpoint, from 1.")
    url: str = strawberry.field(description="The URL it was sent to.")
    response_status: int | None = strawberry.field(
        description="The receiver's HTTP status; null when no response came.")
    error: str | None = strawberry.field(
        description="Why it failed (timeout, connection refused, bad status...); null on "
                    "success.")
    succeeded: bool = strawberry.field(description="True when the receiver answered 2xx "
                                                   "within 10 seconds.")
    latency_ms: int | None = strawberry.field(
        description="Milliseconds until the response; null when none came.")
    created_at: datetime = strawberry.field(description="When the attempt was made.")
    next_retry_at: datetime | None = strawberry.field(
        description="When the next attempt is due after this failure; null when none is.")

    @staticmethod
    def of(model: DeliveryModel) -> WebhookDelivery:
        return WebhookDelivery(id=model.id, endpoint_id=model.endpoint_id,
                               attempt=model.attempt, url=model.url,
                               response_status=model.response_status, error=model.error,
                               succeeded=model.succeeded, latency_ms=model.latency_ms,
                               created_at=model.created_at, next_retry_at=model.next_retry_at)


def delivery_state_loader(info: Info) -> DataLoader[str, DeliveryState]:
    return loader(info, "delivery_states", webhooks.delivery_states_of)


def delivery_loader(info: Info) -> DataLoader[str, list[DeliveryModel]]:
    return loader(info, "deliveries", webhooks.deliveries_of)


@strawberry.type(description="Something that happened to a merchant's payment intents, sent "
                             "to its webhook URL. Visible to its members and its API key.")
class Event:
    id: strawberry.ID = strawberry.field(description="The event's id: the webhook-id header "
                                                     "receivers dedupe on.")
    type: str = strawberry.field(description='For example "payment_intent.captured" or '
                                             '"webhook.test".')
    created_at: datetime = strawberry.field(description="When it happened.")
    data: JSON = strawberry.field(description='The webhook body\'s data: {"object": ...}, '
                                              'the payment intent (snake_case) for '
                                              'payment_intent.* events.')
    model: strawberry.Private[EventModel]

    @staticmethod
    def of(model: EventModel) -> Event:
        return Event(id=model.id, type=model.type, created_at=model.created_at,
                     data=model.data, model=model)

    @strawberry.field(description="Over the webhook endpoints it was meant for: NONE (none), "
                                  "PENDING (some still owed, or held by a disabled endpoint), "
                                  "DELIVERED (to every one) or FAILED (every attempt used at "
                                  "some; redeliverEvent sends it again).")
    async def delivery_state(self, info: Info) -> str:
        return (await delivery_state_loader(info).load(self.id)).value

    @strawberry.field(description="Its delivery attempts, oldest first.")
    async def deliveries(self, info: Info) -> list[WebhookDelivery]:
        return [WebhookDelivery.of(d) for d in await delivery_loader(info).load(self.id)]
