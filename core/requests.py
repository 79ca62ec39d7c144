"""Request ids (CONTRACT §16): which incoming `X-Request-ID` is kept, and the current one.

The id lives in a context variable: whatever runs while a request is served (resolvers, the
tasks they start, log records) sees it without passing it along; work that runs later for
the request (a webhook delivery) binds it again with `bound_request_id`.
"""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from collections.abc import Iterator
from contextvars import ContextVar

HEADER = "X-Request-ID"
_VALID = re.compile(r"[A-Za-z0-9._-]{1,128}")

_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def is_valid(value: str | None) -> bool:
    return value is not None and _VALID.fullmatch(value) is not None


def request_id_for(incoming: str | None) -> str:
    """The request's own id when it is a valid one, else a new one."""
    return incoming if is_valid(incoming) else uuid.uuid4().hex


def current_request_id() -> str | None:
    return _current.get()


@contextlib.contextmanager
def bound_request_id(request_id: str | None) -> Iterator[None]:
    """`request_id` is the current one inside the block (None: no request)."""
    token = _current.set(request_id)
    try:
        yield
    finally:
        _current.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (the current one, or None) to every record that passes a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _current.get()
        return True
