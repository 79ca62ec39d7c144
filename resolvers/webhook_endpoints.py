"""Webhook endpoints (CONTRACT §14): each with its URL, event filter, secret and status.

The merchant's settings (`webhookUrl`, `webhookSecret`, `rotateWebhookSecret`) are its
default endpoint, changed through the same functions. OWNER and ADMIN manage endpoints
(`settings:update`); members read them (`settings:read`); the secret is OWNER and ADMIN's
(`settings:read_secret`); an API key does none of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from core import endpoints, limits, validation
from core.clock import now
from core.config import get_settings
from core.errors import ErrorCode, UserError, invalid
from core.names import EventType
from core.webhooks import new_webhook_secret
from models.sql import Update, write_if
from models.webhooks import EndpointDelivery, EndpointStatus, PairState, WebhookEndpoint
from resolvers import caps, dispatch, events
from resolvers.access import Caller, authorize, member_may, visible
from resolvers.network import check_webhook_url

SECRET_OVERLAP = timedelta(hours=24)  # both secrets sign for this long after a rotation
MANAGE, READ, READ_SECRET = "settings:update", "settings:read", "settings:read_secret"
DESCRIPTION_MAX_LENGTH = WebhookEndpoint._meta.fields_map["description"].max_length
MANUALLY_DISABLED = "Disabled by the merchant"
RECOVER_PAGE = 1000  # deliveries recovered per statement


@dataclass(frozen=True)
class EndpointChange:
    """What updateWebhookEndpoint changes: None leaves a field as it is."""

    url: str | None = None
    enabled_events: list[str] | None = None
    description: str | None = None  # "" clears it
    status: EndpointStatus | None = None


# --- reading -----------------------------------------------------------------------------
async def endpoints_seen_by(caller: Caller, merchant_id: str) -> list[WebhookEndpoint]:
    """The merchant's endpoints, oldest first, for its members; none for API keys."""
    if not await member_may(caller, merchant_id, READ):
        return []
    return await WebhookEndpoint.filter(merchant_id=merchant_id).order_by("created_at", "id")


async def secret_seen_by(caller: Caller, endpoint: WebhookEndpoint) -> str | None:
    return endpoint.secret if await member_may(caller, endpoint.merchant_id, READ_SECRET) \
        else None


async def default_endpoint(merchant_id: str) -> WebhookEndpoint | None:
    return await WebhookEndpoint.get_or_none(merchant_id=merchant_id, is_default=True)


async def default_endpoints(merchant_ids: list[str]) -> list[WebhookEndpoint | None]:
    """Each merchant's default endpoint, or None, in the order asked: one query."""
    rows = await WebhookEndpoint.filter(merchant_id__in=merchant_ids, is_default=True)
    found = {row.merchant_id: row for row in rows}
    return [found.get(merchant_id) for merchant_id in merchant_ids]


async def _managed(caller: Caller, endpoint_id: str) -> WebhookEndpoint:
    """An endpoint the caller may manage (another merchant's, or a role that may not manage
    endpoints: NOT_FOUND)."""
    return await visible(caller, WebhookEndpoint, endpoint_id, MANAGE, "Webhook endpoint")


# --- changing ----------------------------------------------------------------------------
async def _checked_url(url: str, field: str) -> str:
    cleaned = validation.http_url(url, field)
    await check_webhook_url(cleaned, field)  # and again at every delivery
    return cleaned


def _description(value: str | None) -> str | None:
    return validation.optional_text(value, "description", max_length=DESCRIPTION_MAX_LENGTH)


async def create(caller: Caller, merchant_id: str, url: str, enabled_events: list[str] | None,
                 description: str | None = None) -> WebhookEndpoint:
    await authorize(caller, merchant_id, MANAGE)
    events = endpoints.enabled_events(
        [endpoints.ALL_EVENTS] if enabled_events is None else enabled_events)
    return await _insert(merchant_id, await _checked_url(url, "url"), events,
                         _description(description), is_default=False, field="url")


async def _insert(merchant_id: str, url: str, enabled_events: list[str],
                  description: str | None, is_default: bool, field: str) -> WebhookEndpoint:
    """A new endpoint, within the cap (CONTRACT §12.7), counted with the merchant locked.
    This process's events wake their delivery at once from now on (others' within a second)."""
    async with in_transaction():
        await caps.lock(merchant_id=merchant_id)
        if await WebhookEndpoint.filter(merchant_id=merchant_id).count() >= \
                limits.WEBHOOK_ENDPOINTS_PER_MERCHANT:
            raise invalid(field, f"A merchant has at most {limits.WEBHOOK_ENDPOINTS_PER_MERCHANT}"
                                 f" webhook endpoints: delete one first")
        endpoint = await WebhookEndpoint.create(
            merchant_id=merchant_id, url=url, enabled_events=enabled_events,
            description=description, status=EndpointStatus.ENABLED.value,
            secret=new_webhook_secret(), is_default=is_default)
    events.forget_webhook_state(merchant_id)
    return endpoint


async def update(caller: Caller, endpoint_id: str, change: EndpointChange) -> WebhookEndpoint:
    endpoint = await _managed(caller, endpoint_id)
    fields: dict[str, object] = {}
    if change.url is not None:
        fields["url"] = await _checked_url(change.url, "url")
    if change.enabled_events is not None:
        fields["enabled_events"] = endpoints.enabled_events(change.enabled_events)
    if change.description is not None:
        fields["description"] = _description(change.description)
    if change.status is not None:
        fields.update(status_fields(EndpointStatus(change.status), MANUALLY_DISABLED))
    return await _apply(endpoint, fields)


def status_fields(status: EndpointStatus, reason: str) -> dict[str, object]:
    """Enabling clears the reason and the failing run (and sends nothing by itself)."""
    if status is EndpointStatus.ENABLED:
        return {"status": status.value, "disabled_reason": None, "failing_since": None}
    return {"status": status.value, "disabled_reason": reason}


async def _apply(endpoint: WebhookEndpoint, fields: dict[str, object]) -> WebhookEndpoint:
    if fields:
        await WebhookEndpoint.filter(id=endpoint.id).update(**fields)
    return await WebhookEndpoint.get(id=endpoint.id)


async def delete(caller: Caller, endpoint_id: str) -> bool:
    """The endpoint and what it was owed; its attempts stay in the events' log."""
    endpoint = await _managed(caller, endpoint_id)
    await WebhookEndpoint.filter(id=endpoint.id).delete()
    return True


async def rotate_secret(caller: Caller, endpoint_id: str) -> WebhookEndpoint:
    return await _rotate(await _managed(caller, endpoint_id))


async def _rotate(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new secret; the one it replaces signs too for 24 hours."""
    async with in_transaction():
        current = await WebhookEndpoint.select_for_update().get(id=endpoint.id)
        await WebhookEndpoint.filter(id=endpoint.id).update(
            secret=new_webhook_secret(), previous_secret=current.secret,
            previous_secret_until=now() + SECRET_OVERLAP)
    return await WebhookEndpoint.get(id=endpoint.id)


async def recover(caller: Caller, endpoint_id: str, since: datetime) -> int:
    """Send again every event created since `since` that the endpoint was meant for and
    never acknowledged, held ones included, each with a fresh round of retries (the same
    webhook-id). Returns how many. A page of RECOVER_PAGE deliveries at a time, in id order:
    a month of a busy merchant's events is never held in memory or in one transaction."""
    endpoint = await _managed(caller, endpoint_id)
    if endpoint.status != EndpointStatus.ENABLED:
        raise UserError(ErrorCode.INVALID_STATE, "Enable the endpoint first", "id")
    since = endpoints.recover_since(since, now())
    owed = EndpointDelivery.filter(endpoint_id=endpoint.id, event__created_at__gte=since,
                                   state__not=PairState.DELIVERED.value)
    moment, recovered, after = now(), 0, 0
    while page := await owed.filter(id__gt=after).order_by("id").limit(
            RECOVER_PAGE).values_list("id", flat=True):
        # not one a pump delivered since the page was read: that would be sent twice
        recovered += await EndpointDelivery.filter(
            id__in=page, state__not=PairState.DELIVERED.value).update(
            state=PairState.PENDING.value, next_attempt_at=moment,
            retry_base=F("attempt_count"),
            # a result under way (a hold written as the endpoint was disabled) no longer
            # holds the lease: it cannot undo the recovery
            lease_until=None)
        after = page[-1]
    if recovered:
        dispatch.deliveries_due()
    return recovered


# --- the settings' default endpoint (CONTRACT §14) ------------------------------------------
async def set_default_url(merchant_id: str, url: str | None, field: str) -> None:
    """`webhookUrl`: a URL creates or moves the default endpoint, an empty one deletes it.
    The caller has authorized `settings:update`."""
    checked = await _checked_url(url, field) if url else None  # its DNS, before the lock
    async with in_transaction():
        await caps.lock(merchant_id=merchant_id)  # concurrent changes: one default, not two
        current = await default_endpoint(merchant_id)
        if checked is None:
            if current is not None:
                await WebhookEndpoint.filter(id=current.id).delete()
        elif current is None:
            await _insert(merchant_id, checked, [endpoints.ALL_EVENTS], None, is_default=True,
                          field=field)
        else:
            await _apply(current, {"url": checked})
    events.forget_webhook_state(merchant_id)  # as it is now committed


async def rotate_default_secret(merchant_id: str) -> None:
    """`rotateWebhookSecret`: the default endpoint's; nothing without one."""
    current = await default_endpoint(merchant_id)
    if current is not None:
        await _rotate(current)


# --- disabling endpoints that keep failing (the sweep) -------------------------------------
def endpoint_snapshot(endpoint: WebhookEndpoint) -> dict[str, object]:
    """The endpoint as events carry it (snake_case; never its secret)."""
    return {"id": endpoint.id, "object": "webhook_endpoint", "url": endpoint.url,
            "description": endpoint.description, "enabled_events": endpoint.enabled_events,
            "status": endpoint.status, "disabled_reason": endpoint.disabled_reason,
            "created_at": events.iso(endpoint.created_at)}


async def disable_failing(limit: int = 100) -> list[str]:
    """Disable the endpoints whose every attempt has failed for WEBHOOK_DISABLE_AFTER_SECONDS,
    each with its `webhook_endpoint.disabled` event for the merchant's other endpoints, in
    one write (a concurrent sweep or enabling wins the row). Returns the events' ids."""
    after = get_settings().webhook_disable_after_seconds
    moment = now()
    failing = await WebhookEndpoint.filter(
        status=EndpointStatus.ENABLED.value,
        failing_since__lte=moment - timedelta(seconds=after)).limit(limit)
    written: list[str] = []
    for endpoint in failing:
        if not endpoints.failing_too_long(endpoint.failing_since, moment, after):
            continue
        fields = status_fields(EndpointStatus.DISABLED, endpoints.disabled_reason(after))
        for name, value in fields.items():
            setattr(endpoint, name, value)
        event = events.new_event(endpoint.merchant_id, EventType.WEBHOOK_ENDPOINT_DISABLED,
                                 endpoint.id, {"object": endpoint_snapshot(endpoint)},
                                 await events.webhook_state(endpoint.merchant_id))
        guard = Update(WebhookEndpoint, endpoint.id, fields,
                       expect={"status": EndpointStatus.ENABLED.value})
        if await write_if(guard, event):
            written.append(event.id)
    return written
