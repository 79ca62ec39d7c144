"""GraphiQL's docs pane is the API's reference (CONTRACT §16): every type, field, argument,
input field and enum value carries a description, and the connections follow the Relay spec.

Checked twice: by walking the schema's own introspection (always), and by
`graphql-schema-linter` on the exported SDL (when node is installed; CI has it)."""

from __future__ import annotations

import subprocess

from graphql import get_introspection_query, graphql_sync

from schema.schema import build_schema
from tests.conftest import require_tool
from tests.helpers import create_intent, gql, open_shop, payload_of

LINTER = "graphql-schema-linter@3.0.1"
GRAPHQL_JS = "graphql@16.15.0"
LINT_RULES = ",".join([
    "fields-have-descriptions", "types-have-descriptions", "arguments-have-descriptions",
    "enum-values-have-descriptions", "input-object-values-have-descriptions",
    "relay-page-info-spec", "relay-connection-types-spec", "relay-connection-arguments-spec",
])


def introspected_types() -> list[dict]:
    """The schema's own types as a client sees them (built-in `__` types left out)."""
    result = graphql_sync(build_schema()._schema, get_introspection_query(descriptions=True))
    assert result.errors is None, result.errors
    return [kind for kind in result.data["__schema"]["types"]
            if not kind["name"].startswith("__")]


def undocumented(types: list[dict]) -> list[str]:
    """Every place a description is missing, as `Type`, `Type.field`, `Type.field(arg)`..."""
    missing = []

    def check(where: str, item: dict) -> None:
        if not (item.get("description") or "").strip():
            missing.append(where)

    for kind in types:
        name = kind["name"]
        check(name, kind)
        for field in kind["fields"] or ():
            check(f"{name}.{field['name']}", field)
            for argument in field["args"]:
                check(f"{name}.{field['name']}({argument['name']})", argument)
        for input_field in kind["inputFields"] or ():
            check(f"{name}.{input_field['name']}", input_field)
        for value in kind["enumValues"] or ():
            check(f"{name}.{value['name']}", value)
    return missing


def test_every_type_field_argument_and_enum_value_is_described():
    types = introspected_types()
    assert len(types) > 50  # the walk saw the whole schema, not an empty one
    assert undocumented(types) == []


def test_page_info_has_the_relay_fields():
    page_info = next(kind for kind in introspected_types() if kind["name"] == "PageInfo")
    fields = {field["name"]: field["type"] for field in page_info["fields"]}
    assert fields["hasPreviousPage"] == {"kind": "NON_NULL", "name": None,
                                         "ofType": {"kind": "SCALAR", "name": "Boolean",
                                                    "ofType": None}}
    assert fields["hasNextPage"]["ofType"]["name"] == "Boolean"


async def test_has_previous_page_is_false_as_lists_page_forward_only(client):
    shop = await open_shop(client)
    await create_intent(client, shop)
    await create_intent(client, shop)
    query = """query($after: String) { paymentIntents(first: 1, after: $after) {
      edges { cursor } pageInfo { hasPreviousPage hasNextPage endCursor } } }"""
    first = payload_of(await gql(client, query, api_key=shop.api_key), "paymentIntents")
    second = payload_of(await gql(client, query, {"after": first["pageInfo"]["endCursor"]},
                                  api_key=shop.api_key), "paymentIntents")
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert second["pageInfo"]["hasPreviousPage"] is False



def test_graphql_schema_linter_finds_no_missing_description_and_no_relay_error(tmp_path):
    require_tool("graphql-schema-linter", "node", "npm")
    modules = tmp_path / "npm"
    subprocess.run(["npm", "install", "--prefix", str(modules), "--no-audit", "--no-fund",
                    LINTER, GRAPHQL_JS], check=True, capture_output=True, timeout=180)
    sdl = tmp_path / "schema.graphql"
    sdl.write_text(build_schema().as_str() + "\n")
    linter = modules / "node_modules" / ".bin" / "graphql-schema-linter"
    lint = subprocess.run([str(linter), "--format", "compact", "--rules", LINT_RULES, str(sdl)],
                          capture_output=True, text=True, timeout=120)
    assert lint.returncode == 0, lint.stdout + lint.stderr
