"""docs/examples/node-express, `npm install` then `node shop.js`, against a live gateway.

Skipped when node or npm is missing, except in CI (CI or REQUIRE_SERVICES set), where it fails.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
import pytest_asyncio

from tests.conftest import ROOT, require_tool
from tests.examples import scenarios
from tests.examples.conftest import running_example, wire_merchant

EXAMPLE = ROOT / "docs" / "examples" / "node-express"


@pytest.fixture(scope="module")
def installed_copy(tmp_path_factory):
    """The example as a developer gets it: a copy of its files, then `npm install`."""
    require_tool("the Node/Express example", "node", "npm")
    copy = tmp_path_factory.mktemp("node-express") / "shop"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("node_modules"))
    subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=copy, check=True,
                   capture_output=True, timeout=180)
    return copy


@pytest_asyncio.fixture(scope="module")
async def example(live_server, installed_copy):
    wiring = await wire_merchant(live_server.url)
    with running_example(["node", "shop.js"], installed_copy, wiring, {}) as shop:
        yield shop


async def test_a_shopper_pays_and_the_shop_hears_of_it(example, browser):
    await scenarios.a_shopper_pays_and_the_shop_hears_of_it(example, browser)


async def test_webhooks_are_verified_and_deduped(example):
    await scenarios.webhooks_are_verified_and_deduped(example)


async def test_an_unpaid_order_is_not_called_paid(example):
    await scenarios.an_unpaid_order_is_not_called_paid(example)
