"""GET /metrics (CONTRACT §16): counts by route template, GraphQL outcomes, events and
deliveries, summed over two API processes, and the worker's own port."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from core.config import Settings
from tests.conftest import (
    ROOT,
    settings_env,
    wait_until_ready,
)
from tests.helpers import (
    CREATE_INTENT,
    INTENT,
    confirm,
    create_intent,
    gql,
    open_shop,
    set_webhook_url,
)
from tests.receiver import free_port, wait_for

Samples = dict[tuple[str, frozenset], float]


def parse(text: str) -> Samples:
    """Every sample by (name, labels)."""
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def grown(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def test_traffic_is_counted_by_route_template_and_outcome(client, receiver, inbox,
                                                                worker):
    shop = await open_shop(client)
    await set_webhook_url(client, shop, inbox.url)
    before = await scrape(client)

    first = await create_intent(client, shop)
    second = await create_intent(client, shop)
    paid = await confirm(client, first, api_key=shop.api_key)
    assert paid["userErrors"] == []
    refused = await gql(client, CREATE_INTENT, {"input": {
        "amount": 0, "currency": "usd", "successUrl": "https://shop.test/ok",
        "cancelUrl": "https://shop.test/cancel"}}, api_key=shop.api_key)
    assert refused["data"]["createPaymentIntent"]["userErrors"]
    anonymous = await gql(client, INTENT, {"id": first["id"]})
    assert anonymous["errors"]
    assert (await gql(client, "{ noSuchField }"))["errors"]
    assert (await client.request("BREW", "/healthz")).status_code == 405
    assert (await client.get(second["checkoutUrl"])).status_code == 200
    assert (await client.get(f"/no/such/{first['id']}")).status_code == 404

    after = await scrape(client)
    assert grown(before, after, "gateway_http_requests_total",
                 route="/checkout/{intent_id}", method="GET", status="200") == 1
    assert grown(before, after, "gateway_http_requests_total",
                 route="unmatched", method="GET", status="404") == 1
    assert grown(before, after, "gateway_http_requests_total",
                 route="/graphql", method="POST", status="200") >= 4
    assert grown(before, after, "gateway_http_request_duration_seconds_count",
                 route="/checkout/{intent_id}", method="GET") == 1
    assert grown(before, after, "gateway_graphql_operations_total",
                 operation="createPaymentIntent", outcome="ok") == 2
    assert grown(before, after, "gateway_graphql_operations_total",
                 operation="createPaymentIntent", outcome="user_error") == 1
    assert grown(before, after, "gateway_graphql_operations_total",
                 operation="confirmPaymentIntent", outcome="ok") == 1
    assert grown(before, after, "gateway_graphql_operations_total",
                 operation="paymentIntent", outcome="error") == 1
    assert grown(before, after, "gateway_graphql_operations_total",
                 operation="invalid", outcome="error") == 1
    assert grown(before, after, "gateway_http_requests_total",
                 route="/healthz", method="other", status="405") == 1
    assert grown(before, after, "gateway_events_total", type="payment_intent.created") == 2
    assert grown(before, after, "gateway_events_total", type="payment_intent.captured") == 1
    assert ("gateway_webhook_backlog", frozenset()) in after
    labels = {label for _, pairs in after for pair in pairs for label in pair}
    assert not any(second["id"] in label for label in labels), "a raw id became a label"

    async def delivered() -> bool:
        now = await scrape(client)
        return grown(before, now, "gateway_webhook_deliveries_total", outcome="succeeded") >= 3

    assert await wait_for(delivered, timeout=15)


async def test_metrics_can_be_turned_off(settings):
    from core.config import get_settings, use_settings
    from main import create_app

    current = get_settings()
    try:
        app = create_app(settings.with_overrides(metrics=False))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://testserver") as http:
            assert (await http.get("/metrics")).status_code == 404
    finally:
        use_settings(current)  # create_app made its settings the process's


def start(command: str, settings: Settings, log: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "main.py", command], cwd=ROOT,
                            env={**settings_env(settings), **env},
                            stdout=log.open("w"), stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def healthz_count(url: str) -> float:
    samples = parse(httpx.get(f"{url}/metrics", timeout=5).text)
    return value(samples, "gateway_http_requests_total", route="/healthz", method="GET",
                 status="200")


async def get_all(url: str, count: int) -> None:
    async def one() -> None:  # a connection each: the processes share them out
        async with httpx.AsyncClient() as http:
            assert (await http.get(url)).status_code == 200

    await asyncio.gather(*[one() for _ in range(count)])


def test_two_api_processes_are_summed(fleet_settings, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start("serve", fleet_settings, tmp_path / "serve.log", WORKERS="2",
                   PORT=str(port), PUBLIC_BASE_URL=url)
    try:
        wait_until_ready(url, server)
        counters = fleet_settings.data_dir / "metrics"
        sent, deadline = 0, time.monotonic() + 30
        while len(list(counters.glob("counter_*.db"))) < 2:  # until both processes served
            assert time.monotonic() < deadline, "one process never answered"
            asyncio.run(get_all(f"{url}/healthz", 20))
            sent += 20
        asyncio.run(get_all(f"{url}/healthz", 20))  # now shared out between the two
        assert healthz_count(url) == sent + 20
    finally:
        stop(server)


def test_worker_serves_metrics_on_its_port(fleet_settings, tmp_path):
    port = free_port()
    worker = start("worker", fleet_settings, tmp_path / "worker.log",
                   WORKER_METRICS_PORT=str(port))
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
                break
            except httpx.HTTPError:
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()
                assert time.monotonic() < deadline, "the worker's metrics port never answered"
                time.sleep(0.2)
        assert response.status_code == 200
        families = {family.name for family in text_string_to_metric_families(response.text)}
        assert {"gateway_webhook_deliveries", "gateway_events",
                "gateway_webhook_backlog"} <= families
        assert httpx.get(f"http://127.0.0.1:{port}/other", timeout=2).status_code == 404
    finally:
        stop(worker)
