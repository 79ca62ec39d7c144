"""Webhook endpoints' pure rules (core.endpoints)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core import endpoints
from core.errors import UserError

MOMENT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_every_event_type_is_listed_once():
    types = endpoints.event_types()
    assert len(types) == len(set(types))
    assert {"payment_intent.created", "webhook.test", "webhook_endpoint.disabled"} <= set(types)


@pytest.mark.parametrize(("given", "stored"), [
    (["*"], ["*"]),
    (["payment_intent.created", "*"], ["*"]),
    (["payment_intent.captured", "payment_intent.captured", "webhook.test"],
     ["payment_intent.captured", "webhook.test"]),
])
def test_enabled_events_as_stored(given, stored):
    assert endpoints.enabled_events(given) == stored


@pytest.mark.parametrize("given", [[], ["payment_intent.nope"], ["payment_intent.*"], [""]])
def test_enabled_events_refused(given):
    with pytest.raises(UserError) as refused:
        endpoints.enabled_events(given)
    assert refused.value.field == ("enabledEvents",) or refused.value.field == "enabledEvents"


@pytest.mark.parametrize(("endpoint", "events", "event_type", "object_id", "meant"), [
    ("we_a", ["*"], "payment_intent.created", "pi_1", True),
    ("we_a", ["payment_intent.captured"], "payment_intent.created", "pi_1", False),
    ("we_a", ["payment_intent.created"], "payment_intent.created", "pi_1", True),
    ("we_a", ["*"], "webhook_endpoint.disabled", "we_a", False),  # not its own
    ("we_b", ["*"], "webhook_endpoint.disabled", "we_a", True),
])
def test_meant_for(endpoint, events, event_type, object_id, meant):
    assert endpoints.meant_for(endpoint, events, event_type, object_id) is meant


@pytest.mark.parametrize(("failing_since", "too_long"), [
    (None, False), (MOMENT - timedelta(seconds=9), False), (MOMENT - timedelta(seconds=10), True),
])
def test_failing_too_long(failing_since, too_long):
    assert endpoints.failing_too_long(failing_since, MOMENT, 10) is too_long


@pytest.mark.parametrize(("since", "ok"), [
    (MOMENT - timedelta(days=30), True), (MOMENT - timedelta(days=30, seconds=1), False),
    (MOMENT + timedelta(seconds=1), False), (datetime(2026, 11, 25), False),
])
def test_recover_since(since, ok):
    if ok:
        assert endpoints.recover_since(since, MOMENT) == since
    else:
        with pytest.raises(UserError):
            endpoints.recover_since(since, MOMENT)
