"""The integration examples' tests: a live gateway, a merchant whose webhooks go to the
example, the example as a real process, and Chromium shopping through it."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest_asyncio

from client.graphql import Gateway
from client.onboarding import Merchant, onboard, set_webhook_url
from tests.chromium import launched_chromium
from tests.receiver import free_port


@dataclass
class Example:
    """An example shop running as its own process, for a fresh merchant."""

    url: str
    gateway_url: str
    merchant: Merchant
    webhook_secret: str
    process: subprocess.Popen

    def output(self) -> str:
        """What the process printed (read once it has stopped)."""
        return self.process.stdout.read() if self.process.stdout else ""


@dataclass
class Wiring:
    """What an example needs before it starts: its port, its key and its webhook secret."""

    port: int
    gateway_url: str
    merchant: Merchant
    webhook_secret: str

    def env(self, base: dict[str, str]) -> dict[str, str]:
        return {**base, "GATEWAY_URL": self.gateway_url, "GATEWAY_API_KEY": self.merchant.api_key,
                "WEBHOOK_SECRET": self.webhook_secret, "PORT": str(self.port)}


async def wire_merchant(gateway_url: str) -> Wiring:
    """Onboard a merchant as a developer would, its webhooks pointed at the example-to-be."""
    port = free_port()
    async with httpx.AsyncClient(base_url=gateway_url, timeout=15) as http:
        gateway = Gateway(http)
        unique = secrets.token_hex(6)
        merchant = await onboard(gateway, name="Ada", email=f"ada-{unique}@example.com",
                                 password="correct horse battery", business_name="Acme Books",
                                 merchant_email="billing@acme.test")
        secret = await set_webhook_url(gateway, merchant.owner, merchant.id,
                                       f"http://127.0.0.1:{port}/webhooks")
    return Wiring(port, gateway_url, merchant, secret)


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the example exited: {process.stdout.read()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"the example did not answer on {url}")


@contextlib.contextmanager
def running_example(command: list[str], cwd, wiring: Wiring, env: dict[str, str]
                    ) -> Iterator[Example]:
    """The example started with `command`, until the block ends."""
    url = f"http://127.0.0.1:{wiring.port}"
    process = subprocess.Popen(command, cwd=cwd, env=wiring.env({**os.environ, **env}),
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        wait_until_up(url + "/", process)
        yield Example(url, wiring.gateway_url, wiring.merchant, wiring.webhook_secret, process)
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest_asyncio.fixture(scope="module")
async def browser():
    async for instance in launched_chromium():
        yield instance
