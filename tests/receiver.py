"""A real local HTTP receiver for webhooks (uvicorn in the test's event loop)."""

from __future__ import annotations

import asyncio
import secrets
import socket
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route


@dataclass
class Received:
    headers: dict[str, str]
    body: str


@dataclass
class Inbox:
    """One endpoint: what arrived, and how to answer (statuses in turn, then 200)."""

    path: str
    url: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    always: int | None = None

    def bodies_of_type(self, event_type: str) -> list[Received]:
        return [r for r in self.received if f'"type":"{event_type}"' in r.body]


class LocalServer:
    """An ASGI app served by a real uvicorn on a free loopback port, in this event loop."""

    def __init__(self, app) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="off"))
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task:
            await self.task


class Receiver(LocalServer):
    """Webhook endpoints, one inbox per test."""

    def __init__(self) -> None:
        self.inboxes: dict[str, Inbox] = {}
        super().__init__(Starlette(routes=[Route("/hooks/{name}", self.handle,
                                                 methods=["POST"])]))

    def inbox(self) -> Inbox:
        name = secrets.token_hex(6)
        box = Inbox(path=name, url=f"http://127.0.0.1:{self.port}/hooks/{name}")
        self.inboxes[name] = box
        return box

    async def handle(self, request: Request) -> PlainTextResponse:
        box = self.inboxes[request.path_params["name"]]
        body = (await request.body()).decode()
        delay = box.delays.pop(0) if box.delays else 0
        if delay:
            await asyncio.sleep(delay)
        box.received.append(Received(dict(request.headers), body))
        status = box.always or (box.statuses.pop(0) if box.statuses else 200)
        return PlainTextResponse("ok", status_code=status)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1):
    """Poll until `predicate()` (sync or async) is truthy; return its value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(interval)
