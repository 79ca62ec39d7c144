"""Configuration from environment variables (and a `.env` file when present)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path


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


# Seconds between webhook attempts (CONTRACT §8): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
DEFAULT_RETRY_SCHEDULE = "5,300,1800,7200,18000,36000,36000"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("./data")
    database_url: str = ""
    redis_url: str | None = None
    public_base_url: str = "http://127.0.0.1:8000"
    jwt_secret: str = ""
    card_fingerprint_key: str = "development-only-fingerprint-key"
    host: str = "127.0.0.1"
    port: int = 8000
    intent_ttl_seconds: int = 3600
    webhook_allow_private: bool = False
    graphiql: bool = True
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    auth_void_after_seconds: int = 7 * 24 * 3600
    webhook_retry_schedule: tuple[float, ...] = field(
        default_factory=lambda: _retry_schedule(DEFAULT_RETRY_SCHEDULE)
    )
    webhook_timeout_seconds: float = 10.0
    # A due delivery with no attempt this long after its time is taken to have lost its job.
    delivery_grace_seconds: float = 30.0
    sweep_interval_seconds: int = 10
    rate_limit_ip_per_second: float = 500.0
    rate_limit_key_per_second: float = 500.0
    rate_limit_burst_seconds: float = 2.0
    workers: int = 1
    queue_name: str = "arq:queue"
    log_level: str = "info"

    def with_overrides(self, **changes) -> Settings:
        return replace(self, **changes)


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Settings from the environment, a `.env` file filling in what the environment lacks."""
    env = {**read_dotenv(Path(".env")), **(os.environ if environ is None else environ)}
    data_dir = Path(env.get("DATA_DIR", "./data"))
    get = env.get
    return Settings(
        data_dir=data_dir,
        database_url=get("DATABASE_URL") or f"sqlite://{data_dir}/gateway.sqlite3",
        redis_url=get("REDIS_URL") or None,
        public_base_url=get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        jwt_secret=get("JWT_SECRET") or stored_secret(data_dir, "jwt_secret"),
        card_fingerprint_key=get("CARD_FINGERPRINT_KEY")
        or stored_secret(data_dir, "card_fingerprint_key"),
        host=get("HOST", "127.0.0.1"),
        port=int(get("PORT", "8000")),
        intent_ttl_seconds=int(get("INTENT_TTL_SECONDS", "3600")),
        webhook_allow_private=_flag(get("WEBHOOK_ALLOW_PRIVATE", "0")),
        graphiql=_flag(get("GRAPHIQL", "1")),
        auth_void_after_seconds=int(get("AUTH_VOID_AFTER_SECONDS", str(7 * 24 * 3600))),
        webhook_retry_schedule=_retry_schedule(
            get("WEBHOOK_RETRY_SCHEDULE", DEFAULT_RETRY_SCHEDULE)
        ),
        webhook_timeout_seconds=float(get("WEBHOOK_TIMEOUT_SECONDS", "10")),
        delivery_grace_seconds=float(get("DELIVERY_GRACE_SECONDS", "30")),
        sweep_interval_seconds=int(get("SWEEP_INTERVAL_SECONDS", "10")),
        rate_limit_ip_per_second=float(get("RATE_LIMIT_IP_PER_SECOND", "500")),
        rate_limit_key_per_second=float(get("RATE_LIMIT_KEY_PER_SECOND", "500")),
        workers=int(get("WORKERS", "1")),
        queue_name=get("ARQ_QUEUE_NAME", "arq:queue"),
        log_level=get("LOG_LEVEL", "info"),
    )


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
