"""CONTRACT §15: `python main.py listen` and `python main.py trigger`, as processes, against
a real gateway (`python main.py serve`, embedded: the session's `live_server`, or one of its
own where the test restarts it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager

import httpx
from standardwebhooks import Webhook

from client.trigger import TYPES, run_trigger
from tests.conftest import ROOT, embedded_server
from tests.receiver import free_port


def main_py(*args: str, env: dict | None = None, timeout: float = 60
            ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def onboard(url: str) -> str:
    """A merchant's API key on the server at `url`."""
    import asyncio

    from client import Gateway
    from client import onboard as onboard_merchant

    async def run() -> str:
        async with httpx.AsyncClient(base_url=url) as http:
            merchant = await onboard_merchant(
                Gateway(http), name="Dev", email=f"dev-{time.time_ns()}@example.com",
                password="correct horse battery", business_name="Dev Shop",
                merchant_email="dev@example.com")
            return merchant.api_key

    return asyncio.run(run())


class Receiver:
    """A local webhook receiver in its own process (the `listen` target)."""

    SCRIPT = """
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers['content-length'])).decode()
        print(json.dumps({"headers": dict(self.headers), "body": body}), flush=True)
        self.send_response(204); self.end_headers()
    def log_message(self, *a): pass
HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.process = subprocess.Popen([sys.executable, "-c", self.SCRIPT, str(self.port)],
                                        stdout=subprocess.PIPE, text=True)

    def next(self) -> dict:
        return json.loads(self.process.stdout.readline())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@contextmanager
def listening(url: str, key: str, target: str, *extra: str):
    process = subprocess.Popen([sys.executable, "-u", "main.py", "listen", "--url", url,
                                "--api-key", key, "--forward-to", target, *extra], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def read_until(process: subprocess.Popen, prefix: str) -> list[str]:
    lines: list[str] = []
    while True:
        line = process.stdout.readline()
        assert line, f"listen exited: {lines}"
        lines.append(line)
        if line.startswith(prefix) or prefix in line:
            return lines


def test_listen_forwards_signed_events_and_trigger_makes_each_type(live_server):
    receiver = Receiver()
    try:
        server = live_server
        key = onboard(server.url)
        with listening(server.url, key, receiver.url) as listen:
            secret_line = read_until(listen, "whsec_")[-1]
            secret = secret_line.split()[-1]
            read_until(listen, "Ready")
            made = main_py("trigger", "payment_intent.captured", "--url", server.url,
                           "--api-key", key)
            assert made.returncode == 0, made.stderr
            intent_id = made.stdout.split("payment_intent: ")[1].split()[0]
            types = []
            for _ in range(3):  # payment_intent.created, then .captured
                received = receiver.next()
                payload = Webhook(secret).verify(received["body"], {
                    name.lower(): value for name, value in received["headers"].items()})
                assert payload["data"]["object"]["id"] == intent_id
                types.append(payload["type"])
                line = listen.stdout.readline()
                assert payload["type"] in line and payload["id"] in line and "204" in line
                if payload["type"] == "payment_intent.captured":
                    break
            assert types[0] == "payment_intent.created"
            assert types[-1] == "payment_intent.captured"
    finally:
        receiver.stop()


def test_listen_resumes_after_the_gateway_restarts(tmp_path):
    receiver = Receiver()
    data_dir, port = tmp_path / "gw", str(free_port())
    listen = None
    try:
        with embedded_server(data_dir, PORT=port) as server:
            url, key = server.url, onboard(server.url)
            listen = subprocess.Popen([sys.executable, "-u", "main.py", "listen", "--url", url,
                                       "--api-key", key, "--forward-to", receiver.url],
                                      cwd=ROOT, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True)
            read_until(listen, "Ready")
            main_py("trigger", "payment_intent.created", "--url", url, "--api-key", key)
            first = json.loads(receiver.next()["body"])
        read_until(listen, "Connection lost")
        with embedded_server(data_dir, PORT=port):
            # made at once, before `listen` has reconnected: the cursor brings it anyway
            made = main_py("trigger", "payment_intent.created", "--url", url, "--api-key", key)
            second = json.loads(receiver.next()["body"])
            read_until(listen, "Reconnected")
    finally:
        if listen is not None:
            listen.terminate()
            listen.wait(timeout=10)
        receiver.stop()
    assert second["id"] != first["id"]
    assert second["data"]["object"]["id"] in made.stdout


def test_trigger_makes_every_supported_type(live_server, capsys):
    """The command's own function, in this process (the first test runs it as a process)."""
    server = live_server
    key = onboard(server.url)
    for event_type in TYPES:
        assert run_trigger(server.url, key, event_type) == 0, (event_type,
                                                               capsys.readouterr().err)
        assert capsys.readouterr().out.startswith(f"Triggered {event_type}")
    events = httpx.post(f"{server.url}/graphql", headers={"x-api-key": key}, json={
        "query": "{ events(first: 100) { edges { node { type } } } }"}).json()
    seen = {edge["node"]["type"] for edge in events["data"]["events"]["edges"]}
    assert set(TYPES) <= seen


def test_a_wrong_url_or_key_is_one_clear_line(live_server):
    server = live_server
    bad_key = main_py("trigger", "payment_intent.created", "--url", server.url,
                      "--api-key", "sk_test_" + "x" * 40)
    assert bad_key.returncode == 1 and "UNAUTHENTICATED" in bad_key.stderr
    listen = main_py("listen", "--url", server.url, "--api-key", "sk_test_" + "x" * 40,
                     "--forward-to", "http://127.0.0.1:9/")
    assert listen.returncode == 1
    assert "refused the API key" in listen.stderr
    assert len(listen.stderr.strip().splitlines()) == 1
    nowhere = f"http://127.0.0.1:{free_port()}"
    for command in (["trigger", "payment_intent.created"],
                    ["listen", "--forward-to", "http://127.0.0.1:9/"]):
        answer = main_py(*command, "--url", nowhere, "--api-key", "sk_test_x")
        assert answer.returncode == 1 and "cannot reach" in answer.stderr.lower()
