"""Webhook endpoints' rules (CONTRACT §14), pure: which events an endpoint is meant for,
what `enabledEvents` may hold, and when an endpoint has failed long enough to be disabled."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from core.errors import invalid
from core.names import EventType

ALL_EVENTS = "*"
ENABLED_EVENTS_FIELD = "enabledEvents"
RECOVER_WINDOW = timedelta(days=30)  # recoverWebhookEndpoint's `since`, at most this far back


def event_types() -> list[str]:
    """Every event type the gateway emits (`webhookEventTypes`), from the one enum."""
    return [event_type.value for event_type in EventType]


def known_event_types(values: Iterable[str], field: str, hint: str = "") -> set[str]:
    """The event types a filter names (the events query's `type`, the subscription's
    `types`, `enabledEvents`), each one the gateway emits: a typo is a VALIDATION_ERROR
    naming `field`, not a filter that silently matches nothing."""
    known = set(event_types())
    for value in values:
        if value not in known:
            raise invalid(field, f"Unknown event type {value[:64]!r}: see "
                                 f"webhookEventTypes{hint}")
    return set(values)


def enabled_events(values: Iterable[str]) -> list[str]:
    """`enabledEvents` as stored: "*" alone, or known types without repeats, in order."""
    values = list(values)
    known_event_types([value for value in values if value != ALL_EVENTS],
                      ENABLED_EVENTS_FIELD, hint=', or use "*"')
    cleaned: list[str] = []
    for value in values:
        if value not in cleaned:
            cleaned.append(value)
    if not cleaned:
        raise invalid(ENABLED_EVENTS_FIELD, 'Give at least one event type, or "*"')
    return [ALL_EVENTS] if ALL_EVENTS in cleaned else cleaned


def excluded_endpoint(event_type: str, object_id: str | None) -> str | None:
    """The endpoint an event is never meant for: a disabled endpoint's own
    `webhook_endpoint.disabled` goes to the merchant's other endpoints only."""
    return object_id if event_type == EventType.WEBHOOK_ENDPOINT_DISABLED.value else None


def meant_for(endpoint_id: str, events: list[str], event_type: str,
              object_id: str | None) -> bool:
    """Whether an event is for an endpoint (models.sql says the same in SQL)."""
    return (ALL_EVENTS in events or event_type in events) and \
        endpoint_id != excluded_endpoint(event_type, object_id)


def failing_too_long(failing_since: datetime | None, moment: datetime,
                     disable_after_seconds: float) -> bool:
    """Every attempt since `failing_since` failed, for at least the allowed time."""
    return failing_since is not None and \
        moment - failing_since >= timedelta(seconds=disable_after_seconds)


def recover_since(since: datetime, moment: datetime, field: str = "since") -> datetime:
    """`since` for recoverWebhookEndpoint: at most 30 days back, not in the future."""
    if since.tzinfo is None:
        raise invalid(field, "Give a time zone (e.g. 2026-01-01T00:00:00Z)")
    if since < moment - RECOVER_WINDOW:
        raise invalid(field, "At most 30 days back")
    if since > moment:
        raise invalid(field, "A time in the past")
    return since


def disabled_reason(disable_after_seconds: float) -> str:
    days = disable_after_seconds / 86400
    span = f"{days:g} days" if days >= 1 else f"{disable_after_seconds:g} seconds"
    return f"Every delivery attempt failed for {span}"
