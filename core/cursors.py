"""Relay cursors: an opaque token for a row's place in a newest-first list.

A cursor is base64 of "{created_at ISO 8601}|{id}". One that does not decode, or decodes to
anything but an aware time and a well-formed id, is a VALIDATION_ERROR on `after`
(CONTRACT §12.5): it never reaches a query.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from core.errors import invalid
from core.validation import is_well_formed_id

MAX_CURSOR_LENGTH = 200  # a real one is about 90 characters
# The times a cursor may hold: every row was created in between, and every database can hold
# them (one near year 1 or 9999 overflows on its way to UTC).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def encode(created_at: datetime, object_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{object_id}".encode()).decode()


def decode(cursor: str, field: str = "after") -> tuple[datetime, str]:
    """The (created_at, id) a cursor points at."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise _invalid(field)
    try:
        raw = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
        created_text, _, object_id = raw.partition("|")
        created = datetime.fromisoformat(created_text)
        if created.tzinfo is None:  # would be read as the server's local time
            raise ValueError(created_text)
        created = created.astimezone(UTC)
    except (ValueError, OverflowError, binascii.Error, UnicodeError):
        raise _invalid(field) from None
    if not EARLIEST <= created <= LATEST or not is_well_formed_id(object_id):
        raise _invalid(field)
    return created, object_id


def _invalid(field: str):
    return invalid(field, "Invalid cursor: pass an endCursor or cursor this API returned")
