"""models/sql.py against both databases: each test here breaks if a Tortoise upgrade changes
the private API the module leans on (`_choose_db`, `_init_from_db`, `_saved_in_db`, `_meta`)."""

from __future__ import annotations

import pytest
from tortoise.exceptions import IntegrityError

from models.events import DeliveryState, Event
from models.sql import Update, by_pk, claim_deliveries, write_if, write_together
from resolvers.events import new_event
from tests.helpers import open_shop


def an_event(merchant_id: str) -> Event:
    return new_event(merchant_id, "webhook.test", None, {"object": {"n": 1}},
                     DeliveryState.NONE)


async def test_writes_together_are_all_or_none(client):
    shop = await open_shop(client)
    first, clash = an_event(shop.merchant_id), an_event(shop.merchant_id)
    clash.id = first.id  # the second insert breaks the primary key

    with pytest.raises(IntegrityError):
        await write_together(first, clash)
    assert not await Event.exists(id=first.id)

    second = an_event(shop.merchant_id)
    await write_together(second, Update(Event, first.id, {"attempt_count": 9}))
    await write_together(first, Update(Event, second.id, {
        "attempt_count": 2, "delivery_state": DeliveryState.FAILED}))
    stored = await Event.get(id=second.id)
    assert (stored.attempt_count, stored.delivery_state) == (2, DeliveryState.FAILED)
    assert (await Event.get(id=first.id)).data == {"object": {"n": 1}}


async def test_a_guarded_write_happens_only_on_the_expected_version(client):
    shop = await open_shop(client)
    target = an_event(shop.merchant_id)
    await write_together(target)
    stale = Update(Event, target.id, {"attempt_count": 5}, expect={"attempt_count": 1})
    current = Update(Event, target.id, {"attempt_count": 1}, expect={"attempt_count": 0})
    refused, accepted = an_event(shop.merchant_id), an_event(shop.merchant_id)

    assert not await write_if(stale, refused)
    assert await write_if(current, accepted)
    assert not await write_if(current, an_event(shop.merchant_id))  # 0 is gone now

    assert (await Event.get(id=target.id)).attempt_count == 1
    assert not await Event.exists(id=refused.id)
    assert await Event.exists(id=accepted.id)


async def test_by_pk_builds_the_same_model_as_tortoise(client):
    shop = await open_shop(client)
    written = an_event(shop.merchant_id)
    await write_together(written)
    ours, theirs = await by_pk(Event, written.id), await Event.get(id=written.id)
    fields = Event._meta.fields_db_projection
    assert {name: getattr(ours, name) for name in fields} == \
        {name: getattr(theirs, name) for name in fields}
    assert ours._saved_in_db  # so that a later save() updates instead of inserting
    assert await by_pk(Event, "evt_missing") is None


async def test_rows_written_together_count_as_saved(client):
    shop = await open_shop(client)
    written = an_event(shop.merchant_id)
    await write_together(written)
    written.attempt_count = 3
    await written.save()  # an UPDATE: an INSERT would break the primary key
    assert (await Event.get(id=written.id)).attempt_count == 3


async def test_the_delivery_claim_reads_the_event_and_its_endpoints(client):
    from datetime import timedelta

    from core.clock import now
    from models.webhooks import WebhookEndpoint

    shop = await open_shop(client)
    endpoints = [await WebhookEndpoint.create(
        merchant_id=shop.merchant_id, url=f"https://hooks.test/{n}", enabled_events=events,
        secret=f"whsec_{n}") for n, events in enumerate([["*"], ["webhook.test"],
                                                         ["payment_intent.created"]])]
    event = new_event(shop.merchant_id, "webhook.test", None, {"object": {}},
                      DeliveryState.PENDING)
    await write_together(event)  # its deliveries with it: to the endpoints it is meant for
    moment = now()
    claimed = await claim_deliveries(event.id, None, moment, moment + timedelta(seconds=30),
                                     moment)
    assert sorted(one.endpoint.id for one in claimed) == sorted(e.id for e in endpoints[:2])
    for one in claimed:
        assert (one.event.id, one.event.type, one.event.data) == (event.id, "webhook.test",
                                                                  {"object": {}})
        assert one.endpoint.url.startswith("https://hooks.test/")
        assert one.endpoint.secret.startswith("whsec_") and one.endpoint.status == "ENABLED"
        assert (one.pair.attempt_count, one.pair.retry_base) == (0, 0)
    assert await claim_deliveries(event.id, None, moment, moment, moment) == []  # leased now
