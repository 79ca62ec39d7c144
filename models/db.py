"""Database set-up: the Tortoise config, migrations, connections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
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
    return config


def is_postgres(connection: Any) -> bool:
    """Whether a Tortoise connection (or transaction) is PostgreSQL, where the hot paths
    write in single statements; SQLite takes the plain Tortoise path."""
    return connection.capabilities.dialect == "postgres"


async def release_connection(connection: Any) -> None:
    """What a pooled PostgreSQL connection needs before reuse, without a round trip.

    asyncpg's default reset sends RESET ALL, UNLISTEN and friends on every release, one more
    round trip per query. We set no session state, so only an unfinished transaction (an
    error mid-way) needs undoing.
    """
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


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
