"""The one request-body reader (CONTRACT §12.6), for `/graphql` and the checkout's form.

It counts the bytes the client actually sends, whatever `Content-Length` or
`Transfer-Encoding` claim, and stops reading as soon as the count passes the limit, so a
64 MiB chunked upload costs one chunk of memory. JSON bodies are checked for nesting without
recursion before `json.loads` sees them (the decoder recurses and would raise RecursionError).
Plain functions over an ASGI `receive` callable: no web framework here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]

MAX_JSON_DEPTH = 64
_STRUCTURE = re.compile(r'[\[\]{}"\\]')  # the only characters that can change the nesting


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"Request body over {limit} bytes")


class MalformedBody(Exception):
    """The body is not what the endpoint reads (not UTF-8, not JSON, too deeply nested...)."""


class ClientGone(MalformedBody):
    def __init__(self) -> None:
        super().__init__("The client disconnected before sending the whole body")


async def read_body(receive: Receive, limit: int, declared_length: str | None = None) -> bytes:
    """The whole body, or BodyTooLarge as soon as more than `limit` bytes have arrived.

    A declared `Content-Length` over the limit is refused before reading anything; a
    smaller (or absent) one is not trusted: the bytes are counted as they come."""
    if declared_length and declared_length.strip().isdigit() and int(declared_length) > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands out the body already read, then defers to the connection's
    own (so disconnects are still seen by streaming responses)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed


def json_depth_within(text: str, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """Whether no array or object in `text` nests deeper than `max_depth` (the outermost
    container is level 1). A linear scan of the structural characters, strings skipped;
    none at all when there are too few brackets to nest that deep (most requests)."""
    if text.count("{") + text.count("[") <= max_depth:
        return True
    depth = 0
    in_string = False
    escaped = -1  # the position a backslash escapes
    for match in _STRUCTURE.finditer(text):
        char, position = match.group(), match.start()
        if in_string:
            if position == escaped:
                continue
            if char == "\\":
                escaped = position + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > max_depth:
                return False
        elif char in "]}":
            depth -= 1
    return True


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(data: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Strict JSON from UTF-8 text: MalformedBody for anything else (bad UTF-8, syntax,
    NaN/Infinity, nesting deeper than `max_depth`, numbers too long to convert)."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as error:
        raise MalformedBody("The body is not UTF-8") from error
    if not json_depth_within(text, max_depth):
        raise MalformedBody(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError
        raise MalformedBody("Unable to parse request body as JSON") from error
