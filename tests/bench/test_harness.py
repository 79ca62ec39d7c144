"""The bench harness's decisions, without a gateway: what counts, what fails, what is met."""

from __future__ import annotations

import dataclasses
import os
import time
from collections import Counter

import pytest

from bench import census, cpu, load, report, sustained


@pytest.mark.parametrize(("status", "body", "reason"), [
    (200, b'{"data":{"x":{"paymentIntent":{"status":"AWAITING"},"userErrors":[]}}}', ""),
    (200, b'{"data":{"x":{"userErrors":[{"code":"PAYMENT_ALREADY_COMPLETED"}]}}}',
     "PAYMENT_ALREADY_COMPLETED"),
    (200, b'{"errors":[{"message":"x","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}',
     "INTERNAL_SERVER_ERROR"),
    (200, b'{"errors":[{"message":"x"}]}', "GraphQL error without a code"),
    (429, b'{"errors":[{"extensions":{"code":"RATE_LIMITED"}}]}', "HTTP 429 RATE_LIMITED"),
    (502, b"bad gateway", "HTTP 502"),
    (200, b'{"data":{"x":{"status":"FAILED"}}}', "answer without 'AWAITING'"),
])
def test_an_answer_is_a_success_or_an_error_with_its_reason(status, body, reason):
    assert load.failure(b"AWAITING", status, body) == reason


def result(latencies: list[float], errors: dict[str, int] | None = None,
           exhausted_at: float | None = None) -> load.Result:
    return load.Result(latencies=latencies, completed=[0.0] * len(latencies),
                       errors=Counter(errors or {}), elapsed=2.0, exhausted_at=exhausted_at)


def test_throughput_counts_successes_only_and_the_row_names_its_errors():
    row = report.summarise("confirm", result([0.01] * 100, {"PAYMENT_ALREADY_COMPLETED": 40}))
    assert row.throughput == 50
    assert row.errors == 40
    assert "PAYMENT_ALREADY_COMPLETED ×40" in row.note


def test_a_row_that_ran_out_of_prepared_work_says_so():
    row = report.summarise("confirm", result([0.01] * 10, exhausted_at=1.5))
    assert "ran out after 1.5 s" in row.note


def test_unexplained_errors_and_false_ceilings_fail_the_bench():
    rows = [report.summarise("create", result([0.01], {"HTTP 500": 1})),
            report.Row("explained", errors=3, explained="the step above the sustained rate"),
            report.summarise("clean", result([0.01]))]
    found = report.problems(rows, ["create: events gateway (1, 0), ceiling (0, 0)"])
    assert len(found) == 2
    assert found[0].startswith("create: 1 unexplained errors")
    assert found[1].startswith("not a ceiling")


def test_the_census_compares_table_by_table():
    gateway = {"payment_intents": (1, 0), "events": (1, 0), "endpoint_deliveries": (4, 0)}
    assert census.compare("create", gateway, dict(gateway)) == []
    less = {"payment_intents": (1, 0), "events": (1, 0)}
    assert census.compare("create", gateway, less) == [
        "create: endpoint_deliveries gateway inserts/updates (4, 0), ceiling (0, 0)"]


def test_the_census_subtracts_what_the_connection_had_not_reported_yet():
    before = {"payment_intents": (1761, 0)}
    after = {"payment_intents": (1761, 1), "events": (1, 0)}
    assert census.delta(before, after) == {"payment_intents": (0, 1), "events": (1, 0)}


def figures(**changes: float | None) -> dict[str, float | None]:
    base = {"create_c32": 600, "create_ceiling": 1000, "confirm_c32": 400,
            "confirm_ceiling": 1000, "deliveries_1_worker": 1000, "create_100_p50": 2.5,
            "create_100_p99": 9.0, "confirm_100_p50": 2.0, "confirm_100_p99": 12.0,
            "arrival_100_p99": 30, "arrival_half_p99": 200, "expiry_1m_seconds": None,
            "api_rss_max": 90}
    return {**base, **changes}


def test_targets_are_ratios_of_the_same_run():
    met = {t.name.split(" ")[0] + t.name.split(" ")[1]: t.met
           for t in report.targets(figures())}
    assert met == {"createc=32": True, "confirmc=32": False, "1worker": True,
                   "createat": True, "confirmat": False, "webhookarrival": True,
                   "1,000,000overdue": None, "<200": True}


def test_a_figure_missing_is_not_measured_rather_than_met():
    found = report.targets(figures(create_ceiling=None, api_rss_max=float("nan")))
    assert found[0].met is None and found[0].measured == "not measured"
    assert found[-1].met is None


def step(rate: float, sustained_: bool) -> sustained.Step:
    return sustained.Step(rate, 10, int(rate * 10) if sustained_ else 0, 0, 10.0, 5,
                          5 if sustained_ else 500, int(rate * 10), 5.0, 9.0, rate * 2)


def test_the_backlog_is_what_is_owed_and_not_arrived():
    answered, arrived = [1.0, 2.0, 3.0], [1.5, 2.5, 2.6, 3.5]
    assert sustained.backlog(3.0, answered, arrived, 2) == 6 - 3
    assert sustained.backlog(0.5, answered, arrived, 2) == 0


def test_a_step_is_sustained_when_the_backlog_stays_flat_and_the_answers_keep_up():
    assert step(100, True).sustained
    growing = step(100, False)
    assert not growing.flat and not growing.kept_up
    assert "backlog grew" in growing.describe()


def test_a_step_answered_in_seconds_is_not_sustained_even_on_schedule():
    queued = dataclasses.replace(step(300, True), p50_ms=618.0, p99_ms=1444.0)
    assert queued.flat and queued.kept_up and not queued.sustained
    assert queued.describe() == "300/s ✗ p99 1,444 ms"


def test_the_rate_steps_up_then_bisects_to_within_a_fifth():
    assert sustained.next_rate([], 20) == 20
    assert sustained.next_rate([step(20, True)], 20) == 30
    steps = [step(20, True), step(30, True), step(45, False)]
    assert sustained.next_rate(steps, 20) == 37.5
    assert sustained.next_rate([*steps, step(37.5, True)], 20) is None  # 45 / 37.5 = 1.2
    assert sustained.next_rate([*steps, step(37.5, False)], 20) == 33.75
    assert sustained.best([*steps, step(37.5, True)]).rate == 37.5


def test_the_rate_steps_down_while_no_step_is_sustained():
    assert sustained.next_rate([step(20, False)], 20) == 10
    assert sustained.next_rate([step(20, False), step(10, True)], 20) == 15
    assert sustained.next_rate([step(1.5, False)], 1.5) is None
    assert sustained.best([step(20, False)]) is None


def test_cpu_by_part_counts_a_named_process_and_leaves_unknown_ones_out():
    spent = time.process_time()
    while time.process_time() - spent < 0.05:  # burn some CPU in this process
        pass
    seconds = cpu.snapshot({os.getpid(): "bench"})
    assert seconds["bench"] >= 0.05
    assert set(seconds) <= {"bench", "postgres", "redis"}  # nothing unnamed is counted
    assert cpu.part_of(os.getpid(), {}) is None  # a Python process is not a server


def test_cpu_per_success_is_milliseconds_per_request_by_part_in_a_fixed_order():
    cost = cpu.per_success({"api": 1.0, "postgres": 2.0},
                           {"postgres": 2.5, "api": 3.0, "worker": 0.1}, successes=1000)
    assert list(cost) == ["api", "postgres", "worker"]
    assert cost == {"api": 2.0, "postgres": 0.5, "worker": 0.1}
    assert cpu.describe(cost) == "CPU per success 2.60 ms: api 2.00, postgres 0.50, worker 0.10"
    assert cpu.per_success({}, {"api": 1.0}, successes=0) == {}
