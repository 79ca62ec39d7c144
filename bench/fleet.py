"""The gateway's processes as a fleet runs them, and the webhook receiver beside them."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Arrival:
    arrived: float  # wall clock
    created: float  # the event's created_at
    event_id: str
    path: str  # which endpoint it was sent to


class Receiver:
    """A bare asyncio HTTP server: records each webhook's arrival (each event once per path;
    deliveries are at least once)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.arrivals: list[Arrival] = []
        self.seen: set[tuple[str, str]] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", self.port)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode()
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                body = json.loads(await reader.readexactly(length))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                if (path, body["id"]) not in self.seen:
                    self.seen.add((path, body["id"]))
                    created = datetime.fromisoformat(body["created_at"]).timestamp()
                    self.arrivals.append(Arrival(time.time(), created, body["id"], path))
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    def since(self, start: float, end: float = float("inf")) -> list[Arrival]:
        """Arrivals of the events created in [start, end)."""
        return [a for a in self.arrivals if start <= a.created < end]


class Fleet:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.api: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.memory: dict[str, tuple[float, float]] = {}

    def run(self, *args: str) -> None:
        subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, env=self.env, check=True,
                       stdout=subprocess.DEVNULL)

    def start_api(self) -> None:
        self.api = subprocess.Popen([sys.executable, "main.py", "serve"], cwd=ROOT,
                                    env=self.env, stdout=subprocess.DEVNULL)

    def start_workers(self, count: int) -> None:
        self.workers += [subprocess.Popen([sys.executable, "main.py", "worker"], cwd=ROOT,
                                          env=self.env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL) for _ in range(count)]

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.terminate()
        for worker in self.workers:
            worker.wait(timeout=30)
        self.workers = []

    def stop(self) -> None:
        self.stop_workers()
        if self.api:
            self.api.terminate()
            self.api.wait(timeout=30)

    def processes(self) -> dict[str, int]:
        """Every gateway process: the uvicorn workers (children of serve) and the arq workers."""
        found = {"serve (uvicorn supervisor)": self.api.pid}
        children = subprocess.run(["pgrep", "-P", str(self.api.pid)], capture_output=True,
                                  text=True).stdout.split()
        workers = [pid for pid in children  # not multiprocessing's resource tracker
                   if "resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_text()]
        for index, pid in enumerate(workers):
            found[f"api-{index + 1}"] = int(pid)
        for index, worker in enumerate(self.workers):
            found[f"worker-{index + 1}"] = worker.pid
        return found

    def take_memory(self) -> None:
        self.memory = {name: memory_mb(pid) for name, pid in self.processes().items()}


class Profiler:
    """`py-spy record` on every gateway process while a scenario runs (BENCH_PROFILE=1;
    py-spy is not a dependency: `.venv/bin/pip install py-spy`). Collapsed stacks, one file
    per scenario and process, under `directory`."""

    def __init__(self, fleet: Fleet, directory: Path, enabled: bool) -> None:
        self.fleet, self.directory, self.enabled = fleet, directory, enabled
        self.running: list[subprocess.Popen] = []

    def start(self, scenario: str, seconds: float) -> None:
        if not self.enabled:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        spy = str(Path(sys.executable).with_name("py-spy"))
        for name, pid in self.fleet.processes().items():
            if name.startswith("serve"):
                continue  # the supervisor only waits on its workers
            output = self.directory / f"{scenario}.{name}.txt"
            self.running.append(subprocess.Popen(
                [spy, "record", "--pid", str(pid), "--duration", str(max(1, int(seconds))),
                 "--rate", "200", "--format", "raw", "--nonblocking", "-o", str(output)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def wait(self) -> None:
        for process in self.running:
            process.wait(timeout=120)
        self.running = []


def memory_mb(pid: int) -> tuple[float, float]:
    """(resident now, peak resident) in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


async def wait_ready(url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            try:
                if (await http.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError("gateway did not start")


async def wait_arrivals(receiver: Receiver, start: float, end: float, expected: int,
                        timeout: float = 60) -> list[Arrival]:
    """Wait until `expected` arrivals of the events created in [start, end) came (or
    `timeout`); the arrivals."""
    deadline = time.time() + timeout
    while len(receiver.since(start, end)) < expected and time.time() < deadline:
        await asyncio.sleep(0.1)
    return receiver.since(start, end)
