"""Events as merchants read them, test webhooks and redelivery."""

from __future__ import annotations

from tortoise.expressions import F

from core import limits, metrics, validation
from core.clock import now
from core.errors import invalid
from core.names import EventType, Job, delivery_job_id
from models.events import DeliveryState, Event, WebhookDelivery
from models.merchants import Merchant
from resolvers import dispatch, events
from resolvers.access import Caller, authorize, visible
from resolvers.batches import grouped
from resolvers.paging import list_merchant_id, page

MAX_TYPE = Event._meta.fields_map["type"].max_length  # the column's size


async def deliveries_of(event_ids: list[str]) -> list[list[WebhookDelivery]]:
    """Each event's latest attempts, oldest first: one round of the retry schedule at most
    (the number the query cost counts them at)."""
    rows = await WebhookDelivery.filter(event_id__in=event_ids).order_by("attempt")
    groups = grouped(event_ids, rows, lambda delivery: delivery.event_id)
    return [attempts[-limits.DELIVERY_ATTEMPTS_PER_EVENT:] for attempts in groups]


async def list_events(caller: Caller, merchant_id: str | None, event_type: str | None,
                      first: int, after: str | None) -> tuple[list[Event], bool]:
    merchant_id = await list_merchant_id(caller, merchant_id, "events:read")
    query = Event.filter(merchant_id=merchant_id)
    if event_type:
        query = query.filter(type=validation.text(event_type, "type", max_length=MAX_TYPE))
    return await page(query, first, after)


async def _require_webhook_url(merchant_id: str) -> None:
    merchant = await Merchant.get(id=merchant_id)
    if not merchant.webhook_url:
        raise invalid("merchantId", "Set a webhookUrl in the merchant's settings first")


async def send_test(caller: Caller, merchant_id: str) -> Event:
    await authorize(caller, merchant_id, "webhooks:send_test")
    await _require_webhook_url(merchant_id)
    event = await events.record(merchant_id, EventType.WEBHOOK_TEST, None, {"object": {
        "merchant_id": merchant_id, "message": "This is a test webhook from the gateway."}})
    metrics.count_events([EventType.WEBHOOK_TEST])  # the one event not written by models.sql
    await dispatch.deliver_events([event.id])
    return event


async def redeliver(caller: Caller, event_id: str) -> Event:
    """Send an event again now, with a fresh round of retries; the same webhook-id."""
    event = await visible(caller, Event, event_id, "events:redeliver", "Event")
    await _require_webhook_url(event.merchant_id)
    await Event.filter(id=event.id).update(
        delivery_state=DeliveryState.PENDING, next_attempt_at=now(),
        retry_base=F("attempt_count"))
    await dispatch.enqueue(Job.DELIVER_EVENT, event.id,
                           job_id=delivery_job_id(event.id, "redeliver", event.attempt_count))
    return await Event.get(id=event.id)
