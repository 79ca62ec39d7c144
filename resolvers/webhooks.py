"""Events as merchants read them, test webhooks and redelivery."""

from __future__ import annotations

from tortoise.expressions import F

from core import endpoints, limits, validation
from core.clock import now
from core.errors import invalid
from core.names import EventType
from models.events import DeliveryState, Event, WebhookDelivery
from models.webhooks import EndpointDelivery, PairState, WebhookEndpoint
from resolvers import dispatch, events
from resolvers.access import Caller, authorize, visible
from resolvers.batches import grouped
from resolvers.money import balance
from resolvers.paging import list_merchant_id, page


async def deliveries_of(event_ids: list[str]) -> list[list[WebhookDelivery]]:
    """Each event's latest attempts at every endpoint, oldest first: one round of the retry
    schedule per endpoint at most, and the newest DELIVERY_ATTEMPTS_LISTED_PER_EVENT of those
    (the number the query cost counts them at)."""
    rows = await WebhookDelivery.filter(event_id__in=event_ids).order_by("created_at", "attempt")
    groups = grouped(event_ids, rows, lambda delivery: delivery.event_id)
    return [_latest_round(attempts) for attempts in groups]


def _latest_round(attempts: list[WebhookDelivery]) -> list[WebhookDelivery]:
    per_endpoint: dict[str | None, list[WebhookDelivery]] = {}
    for attempt in attempts:
        per_endpoint.setdefault(attempt.endpoint_id, []).append(attempt)
    kept = {id(attempt) for rows in per_endpoint.values()
            for attempt in rows[-limits.DELIVERY_ATTEMPTS_PER_EVENT:]}
    latest = [attempt for attempt in attempts if id(attempt) in kept]
    return latest[-limits.DELIVERY_ATTEMPTS_LISTED_PER_EVENT:]


async def delivery_states_of(event_ids: list[str]) -> list[DeliveryState]:
    """Each event's delivery, over its endpoints: NONE (meant for none), DELIVERED (to every
    one), PENDING (some still owed: due, retrying or held), or FAILED."""
    rows = await EndpointDelivery.filter(event_id__in=event_ids).values("event_id", "state")
    groups = grouped(event_ids, rows, lambda row: row["event_id"])
    return [summary({row["state"] for row in group}) for group in groups]


def summary(states: set[str]) -> DeliveryState:
    if not states:
        return DeliveryState.NONE
    if states == {PairState.DELIVERED.value}:
        return DeliveryState.DELIVERED
    if states & {PairState.PENDING.value, PairState.HELD.value}:
        return DeliveryState.PENDING
    return DeliveryState.FAILED


async def list_events(caller: Caller, merchant_id: str | None, event_type: str | None,
                      first: int, after: str | None) -> tuple[list[Event], bool]:
    merchant_id = await list_merchant_id(caller, merchant_id, "events:read")
    wanted = endpoints.known_event_types([event_type], "type") if event_type else None
    readable = await balance.readable_event_types(caller, merchant_id, wanted)
    query = Event.filter(merchant_id=merchant_id)
    if readable is not None:
        query = query.filter(type__in=readable)
    return await page(query, first, after)


async def send_test(caller: Caller, merchant_id: str) -> Event:
    await authorize(caller, merchant_id, "webhooks:send_test")
    if not await WebhookEndpoint.exists(merchant_id=merchant_id):
        raise invalid("merchantId", "Add a webhook endpoint (or set a webhookUrl) first")
    event = await events.record(merchant_id, EventType.WEBHOOK_TEST, None, {"object": {
        "merchant_id": merchant_id, "message": "This is a test webhook from the gateway."}})
    await dispatch.deliver_events([event.id])
    return event


async def redeliver(caller: Caller, event_id: str, endpoint_id: str | None = None) -> Event:
    """Send an event again now, with a fresh round of retries and the same webhook-id: to
    every endpoint it was meant for, or to one of them."""
    event = await visible(caller, Event, event_id, "events:redeliver", "Event")
    owed = EndpointDelivery.filter(event_id=event.id)
    if endpoint_id is not None:
        owed = owed.filter(endpoint_id=endpoint_id if validation.is_well_formed_id(endpoint_id)
                           else "")
    updated = await owed.update(state=PairState.PENDING.value, next_attempt_at=now(),
                                retry_base=F("attempt_count"))
    if not updated:
        if endpoint_id is not None:
            raise invalid("endpointId", "The event was not meant for this endpoint")
        raise invalid("id", "The event was meant for no webhook endpoint")
    await dispatch.deliver_events([event.id])  # the pumps claim it, due now
    return await Event.get(id=event.id)
