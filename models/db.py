"""Database set-up: the Tortoise config, migrations, connections."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import asyncpg
import redis.exceptions
from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.exceptions import DBConnectionError
from tortoise.migrations.api import migrate as run_migrations

from models import MODEL_MODULES


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": _connection(database_url)},
        "apps": {"models": {"models": MODEL_MODULES, "migrations": "models.migrations",
                            "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


def _connection(database_url: str) -> dict[str, Any]:
    if database_url.startswith("sqlite://"):
        # WAL lets readers go on while a payment commits; a busy wait instead of "locked".
        return {"engine": "tortoise.backends.sqlite",
                "credentials": {"file_path": database_url.removeprefix("sqlite://"),
                                "journal_mode": "WAL", "journal_size_limit": 16384,
                                "busy_timeout": 5000}}
    config = expand_db_url(database_url)
    config["credentials"]["reset"] = release_connection
    config["credentials"]["connection_class"] = GuardedConnection
    return config


def is_postgres(connection: Any) -> bool:
    """Whether a Tortoise connection (or transaction) is PostgreSQL, where the hot paths
    write in single statements; SQLite takes the plain Tortoise path."""
    return connection.capabilities.dialect == "postgres"


async def release_connection(connection: Any) -> None:
    """What a pooled PostgreSQL connection needs before reuse, without a round trip.

    asyncpg's default reset sends RESET ALL, UNLISTEN and friends on every release, one more
    round trip per query. We set no session state, so only an unfinished transaction (an
    error mid-way) needs undoing. A connection that failed never gets here: GuardedConnection
    terminated it, and asyncpg discards a closed connection instead of resetting it.
    """
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


# Driver errors meaning "the connection, not the statement, failed" (CONTRACT §16).
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.exceptions.OperatorInterventionError,  # 57P01 admin shutdown (pg_terminate_backend)
    asyncpg.InterfaceError,  # "connection is closed", "released back to the pool"
    asyncpg.exceptions.InternalClientError,  # a protocol left mid-operation by a dead backend
    DBConnectionError,
    ConnectionError,  # reset, refused, broken pipe
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def is_connection_error(error: BaseException | None) -> bool:
    """Whether the database or Redis connection failed under `error` (or under the errors it
    was raised from): the one classification of faults, for retries, SERVICE_UNAVAILABLE and
    discarding connections. A cancelled statement (57014) is the statement's failure."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, CONNECTION_ERRORS) and \
                not isinstance(error, asyncpg.exceptions.QueryCanceledError):
            return True
        error = error.__cause__ or error.__context__
    return False


class CommitWatch:
    """Whether a request may have committed anything yet: set before a statement that could
    commit is sent (a COMMIT, or a write outside a transaction). A failure is retried only
    while this is False, so a retry never writes twice."""

    def __init__(self) -> None:
        self.may_have_committed = False


_commit_watch: ContextVar[CommitWatch | None] = ContextVar("commit_watch", default=None)
# First words of statements that never commit by themselves.
NON_COMMITTING = frozenset({"SELECT", "SHOW", "BEGIN", "START", "ROLLBACK", "SAVEPOINT",
                            "RELEASE", "SET", "RESET", "EXPLAIN", "VALUES", "TABLE"})


@contextlib.contextmanager
def watching_commits() -> Iterator[CommitWatch]:
    """Watch the statements sent from this context (and the tasks it starts)."""
    watch = CommitWatch()
    token = _commit_watch.set(watch)
    try:
        yield watch
    finally:
        _commit_watch.reset(token)


def could_commit(query: str, in_transaction: bool) -> bool:
    words = query.lstrip().split(None, 1)
    first = words[0].upper().rstrip(";") if words else ""
    if first in ("COMMIT", "END"):
        return True
    return not in_transaction and first not in NON_COMMITTING


class GuardedConnection(asyncpg.Connection):
    """An asyncpg connection that notes statements that could commit (for CommitWatch) and
    terminates itself when its connection fails, so the pool never hands it out again
    (asyncpg discards a closed connection on release and opens a new one on acquire)."""

    def _before(self, query: str) -> None:
        watch = _commit_watch.get()
        if watch is not None and not watch.may_have_committed and \
                could_commit(query, self.is_in_transaction()):
            watch.may_have_committed = True

    def _broken(self, error: BaseException) -> None:
        if is_connection_error(error) and not self.is_closed():
            self.terminate()

    async def _guarded(self, query: str, statement: Awaitable[Any]) -> Any:
        self._before(query)
        try:
            return await statement
        except Exception as error:
            self._broken(error)
            raise

    async def execute(self, query: str, *args: Any, **options: Any) -> Any:
        return await self._guarded(query, super().execute(query, *args, **options))

    async def executemany(self, command: str, args: Any, **options: Any) -> Any:
        return await self._guarded(command, super().executemany(command, args, **options))

    async def fetch(self, query: str, *args: Any, **options: Any) -> Any:
        return await self._guarded(query, super().fetch(query, *args, **options))

    async def fetchrow(self, query: str, *args: Any, **options: Any) -> Any:
        return await self._guarded(query, super().fetchrow(query, *args, **options))

    async def fetchval(self, query: str, *args: Any, **options: Any) -> Any:
        return await self._guarded(query, super().fetchval(query, *args, **options))


def ensure_sqlite_directory(database_url: str) -> None:
    """SQLite creates its file, not the folder it lives in."""
    if database_url.startswith("sqlite://"):
        Path(database_url.removeprefix("sqlite://")).parent.mkdir(parents=True, exist_ok=True)


async def migrate(database_url: str, target: str | None = None) -> None:
    """Apply every pending migration, or those up to `target` ("models.0002_…")
    (idempotent; safe to run at each start)."""
    ensure_sqlite_directory(database_url)
    await run_migrations(config=tortoise_config(database_url), target=target)
    await Tortoise.close_connections()


async def connect(database_url: str) -> None:
    ensure_sqlite_directory(database_url)
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def disconnect() -> None:
    await Tortoise.close_connections()


# For `tortoise -c models.db.TORTOISE_ORM makemigrations`.
TORTOISE_ORM = tortoise_config("sqlite://data/gateway.sqlite3")


async def ping() -> str:
    from tortoise import connections
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception as error:  # noqa: BLE001 - readiness reports any failure
        return f"error: {type(error).__name__}"
    return "ok"
