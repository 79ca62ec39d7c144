"""The one logging configuration (CONTRACT §16), for the API, the worker and each of
uvicorn's worker processes: one handler on stderr, every record with its request id, text or
JSON lines (LOG_FORMAT), the same level and timestamps in every process."""

from __future__ import annotations

import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# Records from uvicorn carry a coloured copy of their message; nobody reads it.
DROPPED_FIELDS = ("color_message",)


class TextFormatter(logging.Formatter):
    """The plain format, with ` request_id=…` on the lines written while serving a request."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        if not request_id:
            return line
        first, newline, rest = line.partition("\n")  # after the message, before a traceback
        return f"{first} request_id={request_id}{newline}{rest}"


class JsonLineFormatter(JsonFormatter):
    """One JSON object per record: time, level, logger, message, request_id when there is
    one, exc_info on errors, and whatever `extra` the call gave (the access log's fields)."""

    def __init__(self) -> None:
        super().__init__(["asctime", "levelname", "name", "message"],
                         rename_fields={"asctime": "time", "levelname": "level",
                                        "name": "logger"})

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        for name in DROPPED_FIELDS:
            log_data.pop(name, None)
        if log_data.get("request_id") is None:
            log_data.pop("request_id", None)
        return log_data


def log_config(level: str, log_format: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` dictionary; uvicorn applies it in each of its worker
    processes (`uvicorn.run(log_config=…)`), where its default would drop timestamps."""
    level = level.upper()
    formatter = JsonLineFormatter if log_format == "json" else TextFormatter
    # Tortoise logs every query with its values at DEBUG: client secrets, webhook secrets and
    # key hashes would reach the log. Never below INFO, whatever LOG_LEVEL says.
    query_level = logging.getLevelName(max(logging.INFO, logging.getLevelName(level)))
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "core.requests.RequestIdFilter"}},
        "formatters": {"default": {"()": f"{__name__}.{formatter.__name__}"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                "formatter": "default", "filters": ["request_id"]}},
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            # uvicorn's and arq's records go up to the root's handler, as ours do.
            **{name: {"level": level, "handlers": [], "propagate": True}
               for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "arq")},
            "tortoise.db_client": {"level": query_level},
        },
    }


def configure_logging(level: str, log_format: str = "text") -> dict[str, Any]:
    """Apply the configuration in this process; returns it for uvicorn's worker processes."""
    config = log_config(level, log_format)
    logging.config.dictConfig(config)
    return config
