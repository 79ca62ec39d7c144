"""Events as merchants read them, test webhooks and redelivery."""

from __future__ import annotations

from models.events import Event, WebhookDelivery
from resolvers.access import Caller
from resolvers.payment_intents import list_merchant_id, page


async def deliveries_of(event_ids: list[str]) -> list[list[WebhookDelivery]]:
    rows = await WebhookDelivery.filter(event_id__in=event_ids).order_by("attempt")
    by_event: dict[str, list[WebhookDelivery]] = {event_id: [] for event_id in event_ids}
    for row in rows:
        by_event[row.event_id].append(row)
    return [by_event[event_id] for event_id in event_ids]


async def list_events(caller: Caller, merchant_id: str | None, event_type: str | None,
                      first: int, after: str | None) -> tuple[list[Event], bool]:
    merchant_id = await list_merchant_id(caller, merchant_id, "events:read")
    query = Event.filter(merchant_id=merchant_id)
    if event_type:
        query = query.filter(type=event_type)
    return await page(query, first, after)
