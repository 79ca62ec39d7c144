"""Log lines (CONTRACT §16): text or JSON (LOG_FORMAT), with the request id, the same in
every process uvicorn starts."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys

import httpx

from core.logs import JsonLineFormatter, TextFormatter, log_config
from core.requests import RequestIdFilter, bound_request_id
from tests.conftest import (
    ROOT,
    settings_env,
    wait_until_ready,
)
from tests.receiver import free_port

FIELDS = {"time", "level", "logger", "message"}


def written(formatter: logging.Formatter, emit) -> str:
    """What `emit(logger)` writes through a handler like the gateway's."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("gateway.test_logs")
    logger.addHandler(handler)
    try:
        emit(logger)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def raise_and_log(logger: logging.Logger) -> None:
    try:
        raise ValueError("no luck")
    except ValueError:
        logger.exception("it failed")


def test_json_lines_carry_the_fields_and_the_request_id():
    def emit(logger):
        logger.warning("outside %s", "any request")
        with bound_request_id("req-json"):
            logger.warning("inside", extra={"route": "/healthz"})
            raise_and_log(logger)

    outside, inside, failed = map(json.loads, written(JsonLineFormatter(), emit).splitlines())
    assert outside.keys() >= FIELDS and "request_id" not in outside
    assert outside["message"] == "outside any request" and outside["level"] == "WARNING"
    assert outside["logger"] == "gateway.test_logs" and outside["time"].endswith("Z")
    assert (inside["request_id"], inside["route"]) == ("req-json", "/healthz")
    assert failed["level"] == "ERROR" and "ValueError: no luck" in failed["exc_info"]


def test_text_lines_carry_the_request_id():
    def emit(logger):
        logger.warning("outside")
        with bound_request_id("req-text"):
            raise_and_log(logger)

    lines = written(TextFormatter(), emit).splitlines()
    assert lines[0].endswith("WARNING gateway.test_logs outside")
    assert lines[1].endswith("ERROR gateway.test_logs it failed request_id=req-text")
    assert "ValueError: no luck" in lines[-1]


def test_the_query_log_never_goes_below_info():
    config = log_config("debug", "json")
    assert config["loggers"]["tortoise.db_client"]["level"] == "INFO"
    assert config["root"]["level"] == "DEBUG"
    assert log_config("warning", "text")["loggers"]["tortoise.db_client"]["level"] == "WARNING"


def test_a_fleet_of_two_workers_writes_only_json_lines(fleet_settings, tmp_path):
    """`python main.py serve` with WORKERS=2 on PostgreSQL + Redis, LOG_FORMAT=json: every
    line on stderr, uvicorn's startup lines and the access lines included, is a JSON object."""
    stderr = serve_one_request(tmp_path, fleet_settings)
    lines = [json.loads(line) for line in stderr.splitlines()]  # fails on any non-JSON line
    assert lines and all(line.keys() >= FIELDS for line in lines)
    messages = [line["message"] for line in lines]
    assert sum("Started server process" in message for message in messages) == 2, messages
    assert any("Uvicorn running on" in message for message in messages)
    [access] = [line for line in lines if line.get("request_id") == "req-fleet"]
    assert (access["logger"], access["route"], access["status"]) == \
        ("gateway.access", "/healthz", 200)


def serve_one_request(tmp_path, fleet_settings) -> str:
    port = free_port()
    settings = fleet_settings.with_overrides(public_base_url=f"http://127.0.0.1:{port}")
    env = {**settings_env(settings), "PORT": str(port), "WORKERS": "2", "LOG_FORMAT": "json",
           "LOG_LEVEL": "info"}
    log_path = tmp_path / "stderr.log"
    with open(log_path, "w") as stderr:
        process = subprocess.Popen([sys.executable, "main.py", "serve"], cwd=ROOT, env=env,
                                   stdout=subprocess.PIPE, stderr=stderr, text=True)
        try:
            wait_until_ready(settings.public_base_url, process)
            httpx.get(f"{settings.public_base_url}/healthz",
                      headers={"X-Request-ID": "req-fleet"}, timeout=5)
            wait_for_both_workers(log_path)
        finally:
            process.terminate()
            process.wait(timeout=15)
    return log_path.read_text()


def wait_for_both_workers(log_path, timeout: float = 10) -> None:
    """readyz answered from one worker; the other may still be starting."""
    import time

    deadline = time.monotonic() + timeout
    while log_path.read_text().count("Started server process") < 2:
        assert time.monotonic() < deadline, "the second worker did not start"
        time.sleep(0.1)
