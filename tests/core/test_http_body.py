"""The JSON nesting rule of request bodies (CONTRACT §12.6): at most 64 deep, whatever the
number of brackets, and brackets inside strings do not nest."""

from __future__ import annotations

import pytest

from core import http_body


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_sixty_four_deep_passes_and_sixty_five_is_refused():
    assert http_body.loads(nested(64)) is not None
    with pytest.raises(http_body.MalformedBody, match="deeper than 64"):
        http_body.loads(nested(65))


def test_many_brackets_side_by_side_are_shallow():
    text = "[" + ", ".join(["[{}]"] * 500) + "]"  # 1,001 brackets, 3 deep
    assert len(http_body.loads(text)) == 500


def test_brackets_inside_strings_do_not_nest():
    text = '{"query": "' + "{" * 100 + '", "v": ["\\"[[[", {"a": "\\\\"}]}'
    assert http_body.loads(text)["v"][0] == '"[[['
    assert not http_body.json_depth_within('{"a": [' + "[" * 64 + "]" * 64 + "]}")
