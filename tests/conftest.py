"""Test fixtures: the gateway on real SQLite, and on real PostgreSQL + Redis.

Every test that takes `client` runs once per backend. PostgreSQL and Redis are required when
CI (or REQUIRE_SERVICES=1) is set; elsewhere, without them, the PostgreSQL half is skipped
with a message saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from asgi_lifespan import LifespanManager

from core import security
from core.config import Settings

# Argon2 with the library's parameters costs 0.1 s of CPU a hash: hundreds of accounts a run.
# The tests' own in-process apps hash cheaply; servers started as processes keep the real one.
security.use_password_hasher(security.PasswordHasher(time_cost=1, memory_cost=1024,
                                                     parallelism=1))

PG_ADMIN_URL = os.environ.get("TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN_ID = f"{os.getpid()}_{secrets.token_hex(4)}"
ROOT = Path(__file__).resolve().parent.parent


def services_required() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("REQUIRE_SERVICES"))


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_tool(reason: str, *commands: str) -> None:
    """Skip a test that needs `commands` (node, npm…) where they are missing, except in CI
    (or REQUIRE_SERVICES), where a missing tool fails the run instead of hiding the test."""
    missing = [command for command in commands if shutil.which(command) is None]
    if not missing:
        return
    if services_required():
        pytest.fail(f"{', '.join(missing)} required in CI for {reason}")
    pytest.skip(f"{reason} skipped: {', '.join(missing)} not installed")


def services_available() -> bool:
    return reachable("127.0.0.1", 5432) and reachable("127.0.0.1", 6379)


def skip_or_fail_without_services() -> None:
    if services_available():
        return
    if services_required():
        pytest.fail("PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) are required in CI")
    pytest.skip("PostgreSQL + Redis half skipped: no server on 127.0.0.1:5432/6379 "
                "(start them to run it)")


async def create_pg_database(name: str) -> str:
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


async def drop_pg_database(name: str) -> None:
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


# Webhook timing for tests: seconds, not hours. The worker subprocess gets the same values.
FAST_WEBHOOKS = {"WEBHOOK_RETRY_SCHEDULE": "1,1,1,1,1,1,1", "WEBHOOK_TIMEOUT_SECONDS": "3",
                 "SWEEP_INTERVAL_SECONDS": "1", "DELIVERY_GRACE_SECONDS": "2",
                 "WEBHOOK_ALLOW_PRIVATE": "1"}
# The suite registers and logs in hundreds of accounts from one address: the shared app's
# auth limits are lifted; the tests of the limits themselves start apps with the defaults.
GENEROUS_AUTH_LIMITS = {"auth_email_per_minute": 100_000, "auth_ip_per_minute": 100_000,
                        "checkout_posts_per_minute": 100_000,
                        "websocket_handshakes_per_minute": 100_000}
# Money timing for tests (CONTRACT §13): seconds, not days, so that the worker's sweeps open
# and decide disputes and land payouts while a test waits. The worker subprocess gets them too.
FAST_MONEY = {"settlement_delay_seconds": 2, "payout_transit_seconds": 2,
              "dispute_open_delay_seconds": 1, "dispute_review_seconds": 2}


def make_settings(tmp: Path, database_url: str, redis_url: str | None, **overrides) -> Settings:
    return Settings(data_dir=tmp, database_url=database_url, redis_url=redis_url,
                    jwt_secret=secrets.token_urlsafe(32), webhook_allow_private=True,
                    card_fingerprint_key=secrets.token_urlsafe(32),
                    data_encryption_key=secrets.token_urlsafe(32),
                    queue_name=f"arq:queue:test:{RUN_ID}", sweep_interval_seconds=1,
                    webhook_retry_schedule=(1, 1, 1, 1, 1, 1, 1), webhook_timeout_seconds=3,
                    delivery_grace_seconds=2, public_base_url="http://testserver",
                    **{**GENEROUS_AUTH_LIMITS, **FAST_MONEY, **overrides})


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a subprocess (a worker, a server) the same settings."""
    env = {**os.environ, **FAST_WEBHOOKS, "DATA_DIR": str(settings.data_dir),
           "DATABASE_URL": settings.database_url, "JWT_SECRET": settings.jwt_secret,
           "CARD_FINGERPRINT_KEY": settings.card_fingerprint_key,
           "DATA_ENCRYPTION_KEY": settings.data_encryption_key,
           **{name.upper(): str(getattr(settings, name)) for name in FAST_MONEY},
           "ARQ_QUEUE_NAME": settings.queue_name, "PUBLIC_BASE_URL": settings.public_base_url,
           "AUTH_EMAIL_PER_MINUTE": str(settings.auth_email_per_minute),
           "AUTH_IP_PER_MINUTE": str(settings.auth_ip_per_minute),
           "CHECKOUT_POSTS_PER_MINUTE": str(settings.checkout_posts_per_minute)}
    if settings.redis_url:
        env["REDIS_URL"] = settings.redis_url
    return env


# For a test whose point is the fleet (PostgreSQL, Redis, separate processes): it runs on
# that backend only, instead of being collected for SQLite and skipped there.
fleet_only = pytest.mark.parametrize("settings", ["postgres"], indirect=True)


@pytest_asyncio.fixture(scope="session", params=["sqlite", "postgres"])
async def settings(request, tmp_path_factory) -> AsyncIterator[Settings]:
    tmp = tmp_path_factory.mktemp(request.param)
    if request.param == "sqlite":
        yield make_settings(tmp, f"sqlite://{tmp}/gateway.sqlite3", None)
        return
    skip_or_fail_without_services()
    name = f"gateway_test_{RUN_ID}"
    url = await create_pg_database(name)
    try:
        yield make_settings(tmp, url, TEST_REDIS_URL)
    finally:
        await drop_pg_database(name)


@pytest.fixture
def fleet_settings(tmp_path) -> Iterator[Settings]:
    """A PostgreSQL database and queue of its own, for the processes a (synchronous) test
    starts: a fleet of `python main.py serve` and workers."""
    skip_or_fail_without_services()
    name = f"gateway_fleet_{RUN_ID}_{secrets.token_hex(3)}"
    url = asyncio.run(create_pg_database(name))
    try:
        yield make_settings(tmp_path, url, TEST_REDIS_URL).with_overrides(
            queue_name=f"arq:queue:fleet:{name}")
    finally:
        asyncio.run(drop_pg_database(name))


@pytest_asyncio.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Any]:
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    from main import create_app
    from models import db

    # Tortoise caches SQL per connection name; the two backends share the name "default".
    EXECUTOR_CACHE.clear()
    await db.migrate(settings.database_url)
    application = create_app(settings)
    async with LifespanManager(application, startup_timeout=30, shutdown_timeout=30):
        yield application


@pytest_asyncio.fixture(scope="session")
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def shop(client):
    """A merchant ready to take payments: its owner and an API key (tests/helpers.Shop)."""
    from tests.helpers import open_shop

    return await open_shop(client)


@pytest.fixture
def inbox(receiver):
    """A fresh endpoint on the shared webhook receiver."""
    return receiver.inbox()


@pytest.fixture
def backend(settings: Settings) -> str:
    return "postgres" if settings.database_url.startswith("postgres") else "sqlite"


class WorkerProcess:
    """`python main.py worker` against the test database and queue (PostgreSQL + Redis)."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings = settings
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        self.log = open(self.log_path, "a")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([sys.executable, "main.py", "worker"], cwd=ROOT,
                                        env=settings_env(self.settings), stdout=self.log,
                                        stderr=subprocess.STDOUT)

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None

    def output(self) -> str:
        return self.log_path.read_text()


@pytest.fixture(scope="session")
def worker_process(settings, tmp_path_factory):
    if not settings.redis_url:
        yield None  # embedded mode: the API process runs the jobs itself
        return
    process = WorkerProcess(settings, tmp_path_factory.mktemp("worker") / "worker.log")
    yield process
    process.stop()


@pytest.fixture
def worker_subprocess(worker_process, app):
    """`python main.py worker` where the backend needs one: for the tests whose point is the
    separate process (killed mid-delivery, two workers, its log)."""
    if worker_process is not None:
        worker_process.start()
    return worker_process


@pytest_asyncio.fixture
async def worker(settings, app):
    """A worker delivering jobs where the backend needs one (None in embedded mode): the same
    arq worker as `python main.py worker`, run as a task in the tests' own event loop beside
    the API (as arq's own tests do), for this one test."""
    if not settings.redis_url:
        yield None  # embedded mode: the API process runs the jobs itself
        return
    from arq.worker import create_worker

    from tasks.worker import worker_settings

    arq_worker = create_worker(worker_settings(settings, standalone=False),
                               handle_signals=False)
    task = asyncio.create_task(arq_worker.main())
    yield arq_worker
    task.cancel()  # stop polling first: closing the pool under a poll breaks the poll
    with contextlib.suppress(asyncio.CancelledError):
        await task
    # let the jobs in flight finish (arq's close would cancel them), then close
    await asyncio.gather(*arq_worker.tasks.values(), return_exceptions=True)
    await arq_worker.close()


@pytest_asyncio.fixture(scope="session")
async def receiver():
    from tests.receiver import Receiver

    server = Receiver()
    await server.start()
    yield server
    await server.stop()


def wait_until_ready(url: str, process: subprocess.Popen, timeout: float = 30,
                     log: Path | None = None) -> None:
    """Until the server at `url` answers /readyz; its output (`log`, or its stdout pipe) is
    in the error when it exits or does not become ready in time."""
    def output() -> str:
        if log is not None:
            return log.read_text(errors="replace")[-4000:]
        return process.stdout.read() if process.stdout else ""

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {output()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    process.wait(timeout=10)
    raise TimeoutError(f"server did not become ready in {timeout:g} s: {output()}")


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    pid: int

    @property
    def database(self) -> Path:
        return self.data_dir / "gateway.sqlite3"


@contextlib.contextmanager
def embedded_server(data_dir: Path, **env: str):
    """`python main.py serve` in embedded mode, exactly as `make run` starts it, on a free
    port: the LiveServer while it runs."""
    from tests.receiver import free_port

    port = int(env.get("PORT") or free_port())  # a given PORT: the same address on a restart
    environ = {**os.environ, "DATA_DIR": str(data_dir), "PORT": str(port),
               "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", **env}
    environ.pop("DATABASE_URL", None)
    environ.pop("REDIS_URL", None)
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / f"serve-{port}-{time.time_ns()}.log"  # a file: a pipe nobody reads fills
    with open(log, "w") as output:
        process = subprocess.Popen([sys.executable, "main.py", "serve"], cwd=ROOT, env=environ,
                                   stdout=output, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url, process, timeout=90, log=log)  # a loaded 2-core CI box is slow
        yield LiveServer(url, data_dir, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    with embedded_server(tmp_path_factory.mktemp("live"), WEBHOOK_ALLOW_PRIVATE="1") as server:
        yield server


@pytest_asyncio.fixture(autouse=True)
async def ledger_invariant(request):
    """CONTRACT §13's invariant, checked after every test that runs against the app (any
    of them may move money), on both databases: for each merchant and currency, the running
    total equals the sum of net over its balance transactions, the balance's available +
    pending equals it, and pending equals the sum over the rows not yet available."""
    yield
    if "app" not in request.fixturenames:
        return
    from core.clock import now
    from models import sql

    sums = await sql.ledger_sums()
    assert [row for row in sums if row["total"] != row["summed"]] == []
    moment = now()
    for merchant_id in {row["merchant_id"] for row in sums}:
        summed = await sql.pending_summed(merchant_id, moment)
        for found in await sql.balances(merchant_id, moment):
            assert found.available + found.pending == found.total, (merchant_id, found)
            # the pending buckets agree with the ledger's own rows still ahead
            assert found.pending == summed.get(found.currency, 0), (merchant_id, found)
