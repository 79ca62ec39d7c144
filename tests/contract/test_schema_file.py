"""The committed schema.graphql is what client code generators read: it must be the schema
the gateway serves (re-export with `make schema`)."""

from __future__ import annotations

from pathlib import Path

from schema.schema import build_schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_graphql_is_the_exported_schema():
    exported = build_schema().as_str() + "\n"  # `print` in schema/export.py adds the newline
    assert SCHEMA_FILE.read_text() == exported, "schema.graphql is stale: run `make schema`"
