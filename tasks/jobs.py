"""The jobs. Each runs at least once, so each is idempotent: it re-reads the database."""

from __future__ import annotations

from typing import Any


async def sweep(ctx: dict[str, Any]) -> None:
    """Find whatever the database says is due and do it (filled in by the webhooks work)."""


JOBS: dict[str, Any] = {}
