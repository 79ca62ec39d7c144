"""docs/examples/python-flask, run as `flask --app shop run` against a live gateway."""

from __future__ import annotations

import sys

import pytest_asyncio

from tests.conftest import ROOT
from tests.examples import scenarios
from tests.examples.conftest import running_example, wire_merchant

EXAMPLE = ROOT / "docs" / "examples" / "python-flask"


@pytest_asyncio.fixture(scope="module")
async def example(live_server):
    wiring = await wire_merchant(live_server.url)
    command = [sys.executable, "-m", "flask", "--app", "shop", "run",
               "--port", str(wiring.port)]
    with running_example(command, EXAMPLE, wiring, {"PYTHONDONTWRITEBYTECODE": "1"}) as shop:
        yield shop


async def test_a_shopper_pays_and_the_shop_hears_of_it(example, browser):
    await scenarios.a_shopper_pays_and_the_shop_hears_of_it(example, browser)


async def test_webhooks_are_verified_and_deduped(example):
    await scenarios.webhooks_are_verified_and_deduped(example)


async def test_an_unpaid_order_is_not_called_paid(example):
    await scenarios.an_unpaid_order_is_not_called_paid(example)
