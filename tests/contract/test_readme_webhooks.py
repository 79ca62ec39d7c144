"""The README's webhook endpoints block, run as written after the quick start, against a live
server and a local receiver: filtering, holding while disabled, and recovery."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.contract.test_readme import quickstart_script, readme_block


class Hooks(BaseHTTPRequestHandler):
    received: list[tuple[str, str]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["content-length"])).decode()
        self.received.append((self.path, json.loads(body)["type"]))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_the_webhook_endpoints_block_runs_as_written(live_server):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", quickstart_script() + readme_block("webhooks")],
            env={**os.environ, "GATEWAY": live_server.url,
                 "HOOKS": f"http://127.0.0.1:{server.server_address[1]}"},
            capture_output=True, text=True, timeout=120)
        deadline = time.monotonic() + 15  # what was recovered arrives after the script ends
        while len(staging()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert '"webhook_endpoint.disabled"' in out and '"status":"DISABLED"' in out, out
    assert '{"count":2,"userErrors":[]}' in out, out
    assert ("/orders", "payment_intent.captured") in Hooks.received
    assert [t for path, t in Hooks.received if path == "/orders"] == ["payment_intent.captured"]
    assert sorted(staging()) == ["payment_intent.captured", "payment_intent.created"]


def staging() -> list[str]:
    return [event_type for path, event_type in Hooks.received if path == "/staging"]
