"""Configuration from environment variables (and a `.env` file when present)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse KEY=VALUE lines; blank lines and comments are skipped, quotes stripped."""
    if not path.is_file():
        return {}
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _retry_schedule(value: str) -> tuple[float, ...]:
    return tuple(float(part) for part in value.split(",") if part.strip())


def _addresses(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _log_format(value: str) -> str:
    value = value.strip().lower()
    if value not in {"text", "json"}:
        raise ValueError(f"LOG_FORMAT must be text or json, not {value!r}")
    return value


# Seconds between webhook attempts (CONTRACT §8): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
DEFAULT_RETRY_SCHEDULE = _retry_schedule("5,300,1800,7200,18000,36000,36000")


def env(name: str, parse: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """Field metadata: the environment variable that sets it and how to read its text."""
    return {"env": name, "parse": parse}


@dataclass(frozen=True)
class Settings:
    """Every setting with its one default; `load_settings` reads each from its variable."""

    data_dir: Path = field(default=Path("./data"), metadata=env("DATA_DIR", Path))
    database_url: str = field(default="", metadata=env("DATABASE_URL"))  # "": SQLite in data_dir
    redis_url: str | None = field(default=None, metadata=env("REDIS_URL"))
    public_base_url: str = field(default="http://127.0.0.1:8000",
                                 metadata=env("PUBLIC_BASE_URL", lambda v: v.rstrip("/")))
    jwt_secret: str = field(default="", metadata=env("JWT_SECRET"))  # "": stored under data_dir
    card_fingerprint_key: str = field(default="", metadata=env("CARD_FINGERPRINT_KEY"))
    host: str = field(default="127.0.0.1", metadata=env("HOST"))
    port: int = field(default=8000, metadata=env("PORT", int))
    intent_ttl_seconds: int = field(default=3600, metadata=env("INTENT_TTL_SECONDS", int))
    webhook_allow_private: bool = field(default=False,
                                        metadata=env("WEBHOOK_ALLOW_PRIVATE", _flag))
    graphiql: bool = field(default=True, metadata=env("GRAPHIQL", _flag))
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    auth_void_after_seconds: int = field(default=7 * 24 * 3600,
                                         metadata=env("AUTH_VOID_AFTER_SECONDS", int))
    webhook_retry_schedule: tuple[float, ...] = field(
        default=DEFAULT_RETRY_SCHEDULE, metadata=env("WEBHOOK_RETRY_SCHEDULE", _retry_schedule))
    webhook_timeout_seconds: float = field(default=10.0,
                                           metadata=env("WEBHOOK_TIMEOUT_SECONDS", float))
    # CONTRACT §14: an endpoint whose every attempt failed for this long is disabled.
    webhook_disable_after_seconds: float = field(
        default=432000.0, metadata=env("WEBHOOK_DISABLE_AFTER_SECONDS", float))
    # A due delivery with no attempt this long after its time is taken to have lost its job.
    delivery_grace_seconds: float = field(default=30.0,
                                          metadata=env("DELIVERY_GRACE_SECONDS", float))
    sweep_interval_seconds: int = field(default=10, metadata=env("SWEEP_INTERVAL_SECONDS", int))
    live_poll_seconds: float = field(default=1.0, metadata=env("LIVE_POLL_SECONDS", float))
    websocket_handshakes_per_minute: int = field(
        default=120, metadata=env("WEBSOCKET_HANDSHAKES_PER_MINUTE", int))
    rate_limit_ip_per_second: float = field(default=500.0,
                                            metadata=env("RATE_LIMIT_IP_PER_SECOND", float))
    rate_limit_key_per_second: float = field(default=500.0,
                                             metadata=env("RATE_LIMIT_KEY_PER_SECOND", float))
    rate_limit_burst_seconds: float = 2.0
    # CONTRACT §12.4: password hashing at once per process; login/register/changePassword limits.
    hash_concurrency: int = field(default=2, metadata=env("HASH_CONCURRENCY", int))
    auth_email_per_minute: int = field(default=10, metadata=env("AUTH_EMAIL_PER_MINUTE", int))
    auth_ip_per_minute: int = field(default=30, metadata=env("AUTH_IP_PER_MINUTE", int))
    # CONTRACT §12.10: card form posts per intent; proxies whose X-Forwarded-For is believed.
    checkout_posts_per_minute: int = field(default=20,
                                           metadata=env("CHECKOUT_POSTS_PER_MINUTE", int))
    forwarded_allow_ips: tuple[str, ...] = field(default=(),
                                                 metadata=env("FORWARDED_ALLOW_IPS", _addresses))
    # CONTRACT §12.6 and §12.7: request body bytes; the cost a document may request.
    max_body_bytes: int = field(default=65536, metadata=env("MAX_BODY_BYTES", int))
    max_query_cost: int = field(default=5000, metadata=env("MAX_QUERY_COST", int))
    workers: int = field(default=1, metadata=env("WORKERS", int))
    queue_name: str = field(default="arq:queue", metadata=env("ARQ_QUEUE_NAME"))
    log_level: str = field(default="info", metadata=env("LOG_LEVEL"))
    # CONTRACT §16: GET /metrics on the API; the worker's own /metrics port (unset: none).
    metrics: bool = field(default=True, metadata=env("METRICS", _flag))
    worker_metrics_port: int | None = field(default=None,
                                            metadata=env("WORKER_METRICS_PORT", int))
    # CONTRACT §16: "json" writes every log line as one JSON object.
    log_format: str = field(default="text", metadata=env("LOG_FORMAT", _log_format))
    # CONTRACT §13: fees, settlement, payouts and disputes (amounts in minor units).
    fee_percent_bps: int = field(default=290, metadata=env("FEE_PERCENT_BPS", int))
    fee_fixed: int = field(default=30, metadata=env("FEE_FIXED", int))
    settlement_delay_seconds: int = field(default=172800,
                                          metadata=env("SETTLEMENT_DELAY_SECONDS", int))
    payout_interval_seconds: int = field(default=86400,
                                         metadata=env("PAYOUT_INTERVAL_SECONDS", int))
    payout_transit_seconds: int = field(default=86400,
                                        metadata=env("PAYOUT_TRANSIT_SECONDS", int))
    dispute_fee: int = field(default=1500, metadata=env("DISPUTE_FEE", int))
    dispute_open_delay_seconds: int = field(default=60,
                                            metadata=env("DISPUTE_OPEN_DELAY_SECONDS", int))
    dispute_evidence_seconds: int = field(default=604800,
                                          metadata=env("DISPUTE_EVIDENCE_SECONDS", int))
    dispute_review_seconds: int = field(default=3600,
                                        metadata=env("DISPUTE_REVIEW_SECONDS", int))
    # The AES-GCM key of payout destinations (core.crypto): "": generated under DATA_DIR.
    data_encryption_key: str = field(default="", metadata=env("DATA_ENCRYPTION_KEY"))

    def with_overrides(self, **changes) -> Settings:
        return replace(self, **changes)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment, a `.env` file filling in what the environment lacks.

    A variable that is unset or empty leaves the field's default.
    """
    given = {**read_dotenv(Path(".env")), **(os.environ if environ is None else environ)}
    values: dict[str, Any] = {}
    for item in fields(Settings):
        name = item.metadata.get("env")
        if name and given.get(name):
            parse = item.metadata["parse"] or str
            values[item.name] = parse(given[name])
    settings = Settings(**values)
    return replace(settings, **_derived(settings))


def _derived(settings: Settings) -> dict[str, Any]:
    """Defaults that depend on DATA_DIR: the SQLite file and the generated secrets."""
    data_dir = settings.data_dir
    return {
        "database_url": settings.database_url or f"sqlite://{data_dir}/gateway.sqlite3",
        "jwt_secret": settings.jwt_secret or stored_secret(data_dir, "jwt_secret"),
        "card_fingerprint_key": settings.card_fingerprint_key
        or stored_secret(data_dir, "card_fingerprint_key"),
        "data_encryption_key": settings.data_encryption_key
        or stored_secret(data_dir, "data_encryption_key"),
    }


def stored_secret(data_dir: Path, name: str) -> str:
    """A random secret generated on first use and kept under DATA_DIR (mode 0600)."""
    path = data_dir / name
    if path.is_file():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process got there first: use its secret
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


_current: Settings | None = None


def use_settings(settings: Settings) -> None:
    global _current
    _current = settings


def get_settings() -> Settings:
    global _current
    if _current is None:
        _current = load_settings()
    return _current
