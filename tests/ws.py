"""A graphql-transport-ws client for the tests, on the `websockets` package (no GraphQL
library in between: the tests read the protocol's own messages)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets

PROTOCOL = "graphql-transport-ws"


class LiveClient:
    """One connection: `init` it, `subscribe`, then read each operation's messages."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.inboxes: dict[str, asyncio.Queue] = {}
        self.others: asyncio.Queue = asyncio.Queue()  # ping, ack...
        self.reader = asyncio.create_task(self._read())
        self.counter = 0

    @classmethod
    async def connect(cls, base_url: str, payload: dict | None = None,
                      ack: bool = True) -> LiveClient:
        socket = await websockets.connect(ws_url(base_url), subprotocols=[PROTOCOL])
        client = cls(socket)
        message = {"type": "connection_init"}
        if payload is not None:
            message["payload"] = payload
        await socket.send(json.dumps(message))
        if ack:
            answer = await client.other()
            assert answer["type"] == "connection_ack", answer
        return client

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                message = json.loads(raw)
                if message.get("type") == "ping":
                    await self.socket.send(json.dumps({"type": "pong"}))
                if "id" in message:
                    self.inbox(message["id"]).put_nowait(message)
                else:
                    self.others.put_nowait(message)
        except websockets.ConnectionClosed:
            pass

    def inbox(self, operation_id: str) -> asyncio.Queue:
        return self.inboxes.setdefault(operation_id, asyncio.Queue())

    async def other(self, timeout: float = 10) -> dict:
        return await asyncio.wait_for(self.others.get(), timeout)

    async def subscribe(self, query: str, variables: dict | None = None) -> str:
        self.counter += 1
        operation_id = str(self.counter)
        self.inbox(operation_id)
        await self.socket.send(json.dumps({"id": operation_id, "type": "subscribe", "payload": {
            "query": query, "variables": variables or {}}}))
        return operation_id

    async def message(self, operation_id: str, timeout: float = 10) -> dict:
        return await asyncio.wait_for(self.inbox(operation_id).get(), timeout)

    async def next(self, operation_id: str, timeout: float = 10) -> dict:
        """The data of the operation's next result (fails on anything else)."""
        message = await self.message(operation_id, timeout)
        assert message["type"] == "next" and not message["payload"].get("errors"), message
        return message["payload"]["data"]

    async def error_code(self, operation_id: str, timeout: float = 10) -> str:
        """The code of the error the operation ended with (an `error` message, or a `next`
        carrying errors followed by `complete`)."""
        message = await self.message(operation_id, timeout)
        errors = message["payload"] if message["type"] == "error" else \
            message["payload"].get("errors")
        assert errors, message
        return errors[0]["extensions"]["code"]

    async def silent(self, operation_id: str, seconds: float = 0.5) -> bool:
        """Nothing more arrives for the operation within `seconds`."""
        try:
            message = await self.message(operation_id, seconds)
        except TimeoutError:
            return True
        raise AssertionError(f"unexpected message {message}")

    async def complete(self, operation_id: str) -> None:
        await self.socket.send(json.dumps({"id": operation_id, "type": "complete"}))

    async def close(self) -> None:
        await self.socket.close()
        self.reader.cancel()

    async def closed_with(self, timeout: float = 10) -> int:
        await asyncio.wait_for(self.socket.wait_closed(), timeout)
        return self.socket.close_code


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://").replace("https://", "wss://") + "/graphql"
