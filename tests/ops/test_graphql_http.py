"""CONTRACT §16: GraphQL over HTTP's media type, and the graphql-http package's audit.

`application/graphql-response+json` answers request errors (parse, validation, variable
coercion) with 400 and no `data`; `application/json` keeps 200 for GraphQL errors.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from schema.view import GRAPHQL_RESPONSE, JSON, media_type_for
from tests.conftest import ROOT, embedded_server, require_tool

AUDIT_SCRIPT = Path(__file__).with_name("graphql_http_audit.mjs")
PREFERS_GRAPHQL = {"Accept": GRAPHQL_RESPONSE}


@pytest.mark.parametrize(("accept", "expected"), [
    (None, JSON), ("", JSON), ("*/*", JSON), ("application/*", JSON), ("text/html", JSON),
    (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
    (f"{GRAPHQL_RESPONSE}, {JSON}", GRAPHQL_RESPONSE),
    (f"{GRAPHQL_RESPONSE};q=0.9, {JSON}", JSON),
    (f"{JSON};q=0.5, {GRAPHQL_RESPONSE};q=0.8", GRAPHQL_RESPONSE),
    (f"{GRAPHQL_RESPONSE};q=0, */*", JSON),
    (f"Application/GraphQL-Response+JSON ; charset=utf-8, {JSON};q=0.9", GRAPHQL_RESPONSE),
    (f"{JSON};q=0, application/*;q=0.5", GRAPHQL_RESPONSE),
    (f"{GRAPHQL_RESPONSE};q=bogus, {JSON}", JSON),
])
def test_accept_negotiation(accept, expected):
    assert media_type_for(accept) == expected


async def post(client, body: str, accept: str | None):
    headers = {"Content-Type": "application/json"}
    if accept:
        headers["Accept"] = accept
    return await client.post("/graphql", content=body, headers=headers)


@pytest.mark.parametrize("document", ["{", "{ noSuchField }"])
async def test_request_errors_are_400_without_data(client, document):
    body = json.dumps({"query": document})
    preferred = await post(client, body, GRAPHQL_RESPONSE)
    legacy = await post(client, body, JSON)
    assert preferred.status_code == 400
    assert preferred.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert "data" not in preferred.json() and preferred.json()["errors"][0]["extensions"]["code"]
    assert legacy.status_code == 200 and legacy.headers["content-type"] == JSON
    assert legacy.json()["data"] is None


async def test_variable_coercion_failure_is_400(client):
    body = json.dumps({"query": "query ($n: Int!) { __typename }", "variables": {"n": "x"}})
    response = await post(client, body, GRAPHQL_RESPONSE)
    assert response.status_code == 400 and "data" not in response.json()


async def test_a_good_query_is_200_in_the_media_type_asked_for(client):
    response = await post(client, json.dumps({"query": "{ roles { role } }"}),
                          f"{GRAPHQL_RESPONSE}, {JSON};q=0.9")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert {"role": "OWNER"} in response.json()["data"]["roles"]


async def test_refusals_keep_their_status_in_either_media_type(client, settings):
    too_large = "{" + " " * (settings.max_body_bytes + 1) + "}"
    response = await post(client, too_large, GRAPHQL_RESPONSE)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"



def test_graphql_http_audit_finds_no_error_and_no_warning(tmp_path):
    require_tool("the graphql-http audit", "node", "npm")
    modules = tmp_path / "npm"
    subprocess.run(["npm", "install", "--prefix", str(modules), "--no-audit", "--no-fund",
                    "graphql-http", "graphql"], check=True, capture_output=True, timeout=180)
    package = modules / "node_modules" / "graphql-http"
    # The audit sends ~50 requests at once: lift the per-IP limit, not the point here.
    with embedded_server(tmp_path / "data", RATE_LIMIT_IP_PER_SECOND="10000") as server:
        audit = subprocess.run(["node", str(AUDIT_SCRIPT), str(package),
                                f"{server.url}/graphql"],
                               cwd=ROOT, capture_output=True, text=True, timeout=120)
    results = [json.loads(line) for line in audit.stdout.splitlines() if line.strip()]
    failures = [result for result in results if result["status"] in ("error", "warn")]
    assert results and failures == [] and audit.returncode == 0, (failures, audit.stderr)
