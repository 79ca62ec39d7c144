"""The Prometheus metrics (CONTRACT §16): every family defined here, and counted through the
small functions below, so a label's values are decided in one place.

Counting only changes numbers in memory (or, with several API processes, in
prometheus-client's files under PROMETHEUS_MULTIPROC_DIR, which `main.py serve` sets before
the processes start). The webhook backlog is no counter: it is read from the database when
scraped, and given to `exposition` as a number.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED_ROUTE = "unmatched"  # one label for every path no route serves: no label explosion
INVALID_OPERATION = "invalid"  # a document that did not parse or validate names no real field
# A client may send any token as its method: the others share one label.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"

disable_created_metrics()  # no `_created` twin of every series: half the lines, no use here

HTTP_REQUESTS = Counter("gateway_http_requests_total", "HTTP requests answered",
                        ["route", "method", "status"])
HTTP_DURATION = Histogram("gateway_http_request_duration_seconds",
                          "Time to answer an HTTP request", ["route", "method"])
GRAPHQL_OPERATIONS = Counter("gateway_graphql_operations_total",
                             "GraphQL root fields executed, by outcome: ok, user_error (the "
                             "payload had userErrors) or error (top-level errors)",
                             ["operation", "outcome"])
EVENTS = Counter("gateway_events_total", "Events written", ["type"])
WEBHOOK_DELIVERIES = Counter("gateway_webhook_deliveries_total",
                             "Webhook delivery attempts recorded", ["outcome"])


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    method = method if method in METHODS else OTHER_METHOD
    HTTP_REQUESTS.labels(route=route, method=method, status=str(status)).inc()
    HTTP_DURATION.labels(route=route, method=method).observe(seconds)


def count_operation(operation: str, outcome: str) -> None:
    GRAPHQL_OPERATIONS.labels(operation=operation, outcome=outcome).inc()


def count_events(types: Iterable[str], times: int = 1) -> None:
    """`times` events of each type in `types` were written."""
    for event_type in types:
        EVENTS.labels(type=str(getattr(event_type, "value", event_type))).inc(times)


def count_delivery(succeeded: bool) -> None:
    WEBHOOK_DELIVERIES.labels(outcome="succeeded" if succeeded else "failed").inc()


class _Backlog(Collector):
    def __init__(self, due: int) -> None:
        self.due = due

    def collect(self):
        yield GaugeMetricFamily("gateway_webhook_backlog",
                                "Events due for webhook delivery and not yet delivered",
                                value=self.due)


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def exposition(backlog: int | None) -> bytes:
    """The text format: this process's families (every process's, summed, in multiprocess
    mode), and the backlog when it could be read."""
    registry = REGISTRY
    if multiprocess():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    text = generate_latest(registry)
    if backlog is not None:
        backlog_registry = CollectorRegistry()
        backlog_registry.register(_Backlog(backlog))
        text += generate_latest(backlog_registry)
    return text
