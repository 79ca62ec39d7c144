"""Writes that belong together: one statement on PostgreSQL, a transaction on SQLite."""

from __future__ import annotations

import pytest
from tortoise.exceptions import IntegrityError

from models.events import DeliveryState, Event
from models.writes import Update, write_if, write_together
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
