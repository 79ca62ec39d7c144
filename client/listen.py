"""`python main.py listen` (CONTRACT §15): the merchant's events, live, forwarded to a local
URL exactly as webhooks arrive (§8), signed with a secret made for this session. No tunnel,
no public URL: the laptop opens the connection.

It resumes after a dropped connection from the last event it forwarded (the `events`
subscription replays from a cursor), so a restart of the gateway loses nothing.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

import httpx
import websockets

from core import cursors
from core import webhooks as signing

PROTOCOL = "graphql-transport-ws"
SUBSCRIPTION = """subscription($types: [String!], $after: String) {
  events(types: $types, after: $after) { id type createdAt data } }"""
NEWEST = "{ events(first: 1) { edges { cursor } } }"
RETRY_SECONDS = (0.5, 1, 2, 5)
USER_AGENT = "gateway-listen/1"


class ListenError(Exception):
    """A problem the developer must fix (wrong URL, wrong key): one line, exit 1."""


class Listener:
    def __init__(self, url: str, api_key: str, forward_to: str, types: list[str] | None,
                 out: TextIO = sys.stdout) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.forward_to = forward_to
        self.types = types or None
        self.out = out
        self.secret = signing.new_webhook_secret()
        self.cursor: str | None = None
        self.ready = False

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    async def run(self) -> None:
        self.say(f"Your webhook signing secret for this session: {self.secret}")
        async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
            self.cursor = await self.newest_cursor(http)
            failures = 0
            while True:
                try:
                    await self.session(http)
                    failures = 0
                except (TimeoutError, OSError, websockets.ConnectionClosedError,
                        websockets.InvalidHandshake) as error:
                    if not self.ready:
                        raise ListenError(f"Cannot reach the gateway at {self.url}: "
                                          f"{error}") from error
                    wait = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                    failures += 1
                    self.say(f"Connection lost ({type(error).__name__}); reconnecting in "
                             f"{wait:g} s")
                    await asyncio.sleep(wait)

    async def newest_cursor(self, http: httpx.AsyncClient) -> str | None:
        """The newest event's cursor: the subscription starts after it, so nothing committed
        while connecting is missed. Also where a wrong URL or key shows."""
        try:
            response = await http.post(f"{self.url}/graphql", json={"query": NEWEST},
                                       headers={"x-api-key": self.api_key})
        except httpx.HTTPError as error:
            raise ListenError(f"Cannot reach the gateway at {self.url}: {error}") from error
        try:
            body = response.json()
        except ValueError:
            raise ListenError(f"{self.url} does not look like the gateway "
                              f"(HTTP {response.status_code} from /graphql)") from None
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors:
            code = (errors[0].get("extensions") or {}).get("code")
            if code in {"UNAUTHENTICATED", "FORBIDDEN"}:
                raise ListenError("The gateway refused the API key (invalid or revoked); "
                                  "pass a merchant's sk_ key with --api-key")
            raise ListenError(f"The gateway answered {code}: {errors[0].get('message')}")
        edges = ((body.get("data") or {}).get("events") or {}).get("edges") or []
        return edges[0]["cursor"] if edges else None

    async def session(self, http: httpx.AsyncClient) -> None:
        url = self.url.replace("https://", "wss://").replace("http://", "ws://") + "/graphql"
        async with websockets.connect(url, subprotocols=[PROTOCOL], open_timeout=10) as socket:
            await socket.send(json.dumps({"type": "connection_init",
                                          "payload": {"apiKey": self.api_key}}))
            await self.acknowledged(socket)
            await socket.send(json.dumps({"id": "events", "type": "subscribe", "payload": {
                "query": SUBSCRIPTION,
                "variables": {"types": self.types, "after": self.cursor}}}))
            if not self.ready:
                self.ready = True
                self.say(f"Ready! Forwarding events to {self.forward_to} (Ctrl-C to stop)")
            else:
                self.say("Reconnected; resuming after the last event forwarded")
            async for raw in socket:
                await self.handle(socket, json.loads(raw), http)

    async def acknowledged(self, socket: Any) -> None:
        try:
            answer = json.loads(await asyncio.wait_for(socket.recv(), 10))
        except websockets.ConnectionClosed as closed:
            if closed.rcvd is not None and closed.rcvd.code == 4403:
                raise ListenError("The gateway refused the API key (invalid or revoked)") \
                    from None
            raise
        if answer.get("type") != "connection_ack":
            raise ListenError(f"Unexpected answer from the gateway: {answer}")

    async def handle(self, socket: Any, message: dict[str, Any],
                     http: httpx.AsyncClient) -> None:
        kind = message.get("type")
        if kind == "ping":
            await socket.send(json.dumps({"type": "pong"}))
        elif kind == "next":
            payload = message.get("payload") or {}
            if payload.get("errors"):
                raise ListenError(f"The subscription failed: {payload['errors'][0]['message']}")
            await self.forward(http, payload["data"]["events"])
        elif kind == "error":
            raise ListenError(f"The subscription was refused: {message.get('payload')}")
        elif kind == "complete":
            raise websockets.ConnectionClosedError(None, None)

    async def forward(self, http: httpx.AsyncClient, event: dict[str, Any]) -> None:
        """POST the event as a webhook (CONTRACT §8), signed with this session's secret."""
        created = datetime.fromisoformat(event["createdAt"])
        body = signing.payload_body(event["id"], event["type"],
                                    created.isoformat().replace("+00:00", "Z"), event["data"])
        timestamp = int(time.time())
        headers = {"content-type": "application/json", "user-agent": USER_AGENT,
                   "webhook-id": event["id"], "webhook-timestamp": str(timestamp),
                   "webhook-signature": signing.signature(self.secret, event["id"], timestamp,
                                                          body)}
        try:
            response = await http.post(self.forward_to, content=body, headers=headers)
            answer = str(response.status_code)
        except httpx.HTTPError as error:
            answer = f"failed ({type(error).__name__})"
        self.cursor = cursors.encode(created, event["id"])  # the events connection's cursor
        self.say(f"{datetime.now().strftime('%H:%M:%S')}  {event['type']:<34} {event['id']}"
                 f"  -> {answer}")


def run_listen(url: str, api_key: str, forward_to: str, types: list[str] | None,
               runner: Callable[..., Any] = asyncio.run) -> int:
    """The command: 0 on Ctrl-C, 1 with one line on stderr for what must be fixed."""
    try:
        runner(Listener(url, api_key, forward_to, types).run())
    except ListenError as error:
        print(f"listen: {error}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0
