"""CONTRACT §12.6 (request bodies) and §12.7 (query cost), through HTTP.

Bodies: the limit counts the bytes read, whatever the headers claim; JSON is parsed only when
it nests at most 64 deep; `/graphql` answers coded GraphQL JSON to any body. Cost: every
document is costed before it runs and every answer says what it cost.
"""

from __future__ import annotations

import json
import urllib.parse

import httpx
import pytest
from graphql import parse

from core import limits
from tests.helpers import create_intent, error_code, gql, open_shop

LIMIT = 65536  # MAX_BODY_BYTES's default
ROLES = "{ roles { role } }"


def exactly(size: int) -> bytes:
    """A valid request body of exactly `size` bytes (the query padded with blanks)."""
    bare = json.dumps({"query": ROLES}).encode()
    return json.dumps({"query": ROLES + " " * (size - len(bare))}).encode()


def nested_variables(depth: int) -> bytes:
    """A body whose JSON nests `depth` levels in all (the body's own object is level 1)."""
    value = "[" * (depth - 2) + "]" * (depth - 2)
    return ('{"query": "query($v: JSON) { roles { role } }", "variables": {"v": '
            + value + "}}").encode()


def assert_coded(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert len(body["errors"]) == 1 and body["errors"][0]["extensions"]["code"] == code, body
    return body


async def post(client: httpx.AsyncClient, content, **headers) -> httpx.Response:
    return await client.post("/graphql", content=content,
                             headers={"Content-Type": "application/json", **headers})


async def chunks(total: int, size: int = 8192):
    for start in range(0, total, size):
        yield b" " * min(size, total - start)


# --- §12.6 bodies ---------------------------------------------------------------------------

async def test_a_chunked_body_over_the_limit_is_refused(client):
    response = await post(client, chunks(LIMIT + 1))  # a generator: no Content-Length
    assert_coded(response, 413, "QUERY_TOO_COMPLEX")


async def test_a_content_length_that_lies_is_not_believed(client):
    async def body():
        yield b'{"query": "' + b" " * (4 * LIMIT) + b'{ roles { role } }"}'

    response = await post(client, body(), **{"Content-Length": "40"})
    assert_coded(response, 413, "QUERY_TOO_COMPLEX")


async def test_a_body_exactly_at_the_limit_passes_one_byte_more_does_not(client):
    at_limit = exactly(LIMIT)
    assert len(at_limit) == LIMIT
    response = await post(client, at_limit)
    assert response.status_code == 200 and len(response.json()["data"]["roles"]) == 4
    assert_coded(await post(client, exactly(LIMIT + 1)), 413, "QUERY_TOO_COMPLEX")


async def test_json_nested_three_thousand_deep_is_a_parse_failure(client):
    deep = b'{"query": "{ roles { role } }", "variables": {"v": ' + b"[" * 3000 \
        + b"]" * 3000 + b"}}"
    body = assert_coded(await post(client, deep), 400, "GRAPHQL_PARSE_FAILED")
    assert "64" in body["errors"][0]["message"]
    unclosed = b"{" * 3000
    assert_coded(await post(client, unclosed), 400, "GRAPHQL_PARSE_FAILED")


async def test_json_nests_sixty_four_levels_not_sixty_five(client):
    allowed = await post(client, nested_variables(64))
    assert all(e["extensions"]["code"] != "GRAPHQL_PARSE_FAILED"
               for e in allowed.json().get("errors", [])), allowed.text
    assert_coded(await post(client, nested_variables(65)), 400, "GRAPHQL_PARSE_FAILED")


async def test_brackets_inside_strings_do_not_count_as_nesting(client):
    text = "[{" * 100 + '\\"' + "]}" * 100
    response = await post(client, json.dumps({"query": ROLES, "variables": {"x": text}}))
    assert response.status_code == 200 and response.json()["data"]["roles"], response.text


async def test_get_variables_are_held_to_the_same_nesting(client):
    deep = "{\"v\": " + "[" * 100 + "]" * 100 + "}"
    query = urllib.parse.urlencode({"query": ROLES, "variables": deep})
    assert_coded(await client.get(f"/graphql?{query}"), 400, "GRAPHQL_PARSE_FAILED")


MALFORMED = [
    (b"", "application/json"),
    (b"{not json", "application/json"),
    (b'{"query": "{ roles { role } }"', "application/json"),
    (b"null", "application/json"),
    (b"1", "application/json"),
    (b'"{ roles { role } }"', "application/json"),
    (b"[]", "application/json"),
    (b'[{"query": "{ roles { role } }"}]', "application/json"),
    (b"{}", "application/json"),
    (b'{"query": 1}', "application/json"),
    (b'{"query": ["{ roles { role } }"]}', "application/json"),
    (b'{"query": "{ roles { role } }", "variables": []}', "application/json"),
    (b'{"query": "{ roles { role } }", "variables": "x"}', "application/json"),
    (b'{"query": "{ roles { role } }", "operationName": 5}', "application/json"),
    (b'{"query": "{ roles { role } }", "operationName": "Nope"}', "application/json"),
    (b'{"query": "{ roles { role } }", "extensions": []}', "application/json"),
    (b'{"query": "{ roles { role } }", "variables": {"x": NaN}}', "application/json"),
    (b'{"query": "{ roles { role } }", "variables": {"x": ' + b"1" * 5000 + b"}}",
     "application/json"),
    (b'{"query": "\xff\xfe"}', "application/json"),
    ('{"query": "{ roles { role } }"}'.encode("utf-16"), "application/json"),
    (b'{"query": "{ roles { role } }"}', "text/plain"),
    (b'{"query": "{ roles { role } }"}', "application/x-www-form-urlencoded"),
    (b"--x\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{}\r\n--x--\r\n",
     "multipart/form-data; boundary=x"),
    (b"query=%7B+roles+%7B+role+%7D+%7D", ""),
    (b"{ roles { role } }", "application/graphql"),
    (b'{"query": "{ roles { role } }"}', "application/json; charset=\"utf-8"),
]


@pytest.mark.parametrize(("content", "content_type"), MALFORMED)
async def test_no_malformed_body_gets_an_answer_that_is_not_coded_graphql_json(
        client, content, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = await client.post("/graphql", content=content, headers=headers)
    assert response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert body.get("errors") or body.get("data"), body
    assert all(e["extensions"]["code"] not in ("INTERNAL_SERVER_ERROR", None)
               for e in body.get("errors", [])), body


async def test_other_methods_answer_coded_json(client):
    response = await client.put("/graphql", content=b"{}")
    assert response.status_code == 405
    assert response.json()["errors"][0]["extensions"]["code"]


async def test_the_checkout_form_is_read_through_the_same_limit(client):
    shop = await open_shop(client)
    intent = await create_intent(client, shop)
    url = f"/checkout/{intent['id']}"
    form = {"client_secret": intent["clientSecret"], "cardholder_name": "x" * (LIMIT + 1)}
    assert (await client.post(url, data=form)).status_code == 413

    async def chunked_form():
        yield urllib.parse.urlencode({"client_secret": intent["clientSecret"]}).encode()
        async for chunk in chunks(LIMIT):
            yield chunk

    refused = await client.post(url, content=chunked_form(), headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert refused.status_code == 413
    small = await client.post(url, data={"client_secret": intent["clientSecret"],
                                         "card_number": "4242", "expiry": "12/40"})
    assert small.status_code == 400  # read and judged: a bad card number, not a refusal


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`python main.py serve` (uvicorn) in embedded mode, with its process id."""
    from tests.conftest import embedded_server

    with embedded_server(tmp_path_factory.mktemp("bodies")) as server:
        yield server.url, server.pid


def memory_kib(pid: int) -> dict[str, int]:
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status)
    return {name: int(fields[name].split()[0]) for name in ("VmRSS", "VmHWM")}


def test_a_64_mib_chunked_upload_is_refused_in_flat_memory(served):
    url, pid = served
    with httpx.Client(timeout=60) as http:
        http.post(f"{url}/graphql", json={"query": ROLES})  # warm up the request path
        before = memory_kib(pid)

        def upload():
            chunk = b" " * 65536
            for _ in range(1024):  # 64 MiB, Transfer-Encoding: chunked
                yield chunk

        response = http.post(f"{url}/graphql", content=upload(),
                             headers={"Content-Type": "application/json"})
    after = memory_kib(pid)
    assert_coded(response, 413, "QUERY_TOO_COMPLEX")
    grown_mib = (after["VmHWM"] - max(before["VmHWM"], before["VmRSS"])) / 1024
    assert grown_mib < 16, (before, after)
    assert (after["VmRSS"] - before["VmRSS"]) / 1024 < 16, (before, after)
    print("memory before/after (KiB):", before, after)


# --- §12.7 cost -----------------------------------------------------------------------------

MERCHANT_WALK = "members { user { memberships { merchant { id } } } }"


def alias_bomb(aliases: int = 3) -> str:
    """Aliased walks through merchants → members → memberships: M^3 U^2 objects."""
    walks = " ".join(f"m{i}: merchants {{ members {{ user {{ memberships {{ merchant {{ "
                     f"members {{ user {{ id }} }} }} }} }} }} }}" for i in range(aliases))
    return "{ " + walks + " }"


async def test_the_alias_bomb_is_refused_with_its_cost(client):
    shop = await open_shop(client)
    body = await gql(client, alias_bomb(), token=shop.owner.token)
    assert error_code(body) == "QUERY_TOO_COMPLEX"
    assert body["data"] is None
    cost = body["errors"][0]["extensions"]["cost"]
    assert cost["limit"] == 5000 and cost["requested"] > 5000
    assert body["extensions"]["cost"] == cost


async def test_an_ordinary_query_reports_its_cost(client):
    shop = await open_shop(client)
    await create_intent(client, shop)
    document = "{ paymentIntents(first: 5) { edges { node { id refunds { id } } } } }"
    body = await gql(client, document, api_key=shop.api_key)
    assert "errors" not in body, body
    assert len(body["data"]["paymentIntents"]["edges"]) == 1
    # 1 connection + 5 × (1 edge + 1 node + REFUNDS_PER_INTENT refunds)
    assert body["extensions"]["cost"] == {
        "requested": 1 + 5 * (1 + 1 + limits.REFUNDS_PER_INTENT), "limit": 5000}
    roles = await gql(client, "{ roles { role permissions } }")
    assert roles["extensions"]["cost"] == {"requested": 4, "limit": 5000}  # 4 roles, scalars 0


async def test_fragments_and_variables_are_counted(client):
    shop = await open_shop(client)
    document = """query($n: Int!) { paymentIntents(first: $n) { ...Page } }
      fragment Page on PaymentIntentConnection { edges { node { ... on PaymentIntent { id
        refunds { id } } } } pageInfo { hasNextPage } }"""
    body = await gql(client, document, {"n": 7}, api_key=shop.api_key)
    assert "errors" not in body, body
    assert body["extensions"]["cost"]["requested"] == \
        1 + 7 * (1 + 1 + limits.REFUNDS_PER_INTENT) + 1
    defaulted = await gql(client, "{ paymentIntents { edges { node { id } } } }",
                          api_key=shop.api_key)
    assert defaulted["extensions"]["cost"]["requested"] == 1 + 20 * 2  # `first` defaults to 20


async def test_a_big_first_through_a_variable_is_refused_before_it_runs(client):
    shop = await open_shop(client)
    document = """query($n: Int!) { a: paymentIntents(first: $n) { edges { node { id } } }
      b: paymentIntents(first: $n) { edges { node { refunds { id } } } }
      c: events(first: $n) { edges { node { deliveries { id } } } }
      d: events(first: $n) { edges { node { deliveries { id } } } }
      e: events(first: $n) { edges { node { deliveries { id } } } }
      f: events(first: $n) { edges { node { deliveries { id } } } } }"""
    cheap = await gql(client, document, {"n": 10}, api_key=shop.api_key)
    assert "errors" not in cheap, cheap
    refused = await gql(client, document, {"n": 100}, api_key=shop.api_key)
    assert error_code(refused) == "QUERY_TOO_COMPLEX"
    assert refused["extensions"]["cost"]["requested"] == \
        (1 + 100 * 2) + (1 + 100 * (2 + limits.REFUNDS_PER_INTENT)) + \
        4 * (1 + 100 * (2 + limits.DELIVERY_ATTEMPTS_LISTED_PER_EVENT))


async def test_refusals_before_costing_still_report_a_cost(client):
    for body in [await gql(client, "{ roles { "), await gql(client, "{ nope }")]:
        assert body["extensions"]["cost"] == {"requested": 0, "limit": 5000}, body


# --- the cost computation alone ---------------------------------------------------------------

def cost_of(document: str, variables: dict | None = None) -> int:
    from schema.cost import operation_cost
    from schema.schema import build_schema

    return operation_cost(build_schema()._schema, parse(document), None, variables)


def test_cost_counts_objects_and_multiplies_lists():
    assert cost_of("{ me { id email } }") == 1
    assert cost_of("{ me { memberships { role merchant { id } } } }") == 1 + 50 * 2
    assert cost_of("{ merchants { members { role } } }") == 50 * (1 + 100)
    assert cost_of("{ paymentIntents(first: 1000) { edges { node { id } } } }") == 1 + 100 * 2
    refund = """mutation { refundPaymentIntent(input: {id: "pi_1"}) {
      refund { id } paymentIntent { id refunds { id } } userErrors { code field } } }"""
    # payload, refund, intent + its refunds, the error
    assert cost_of(refund) == 1 + 1 + (1 + limits.REFUNDS_PER_INTENT) + 1


def test_cost_merges_fields_like_the_executor_and_honours_directives():
    assert cost_of("{ me { id } me { email } }") == 1
    assert cost_of("{ a: me { id } b: me { id } }") == 2
    skip = "query($s: Boolean!) { me @skip(if: $s) { id } roles { role } }"
    assert cost_of(skip, {"s": True}) == 4
    assert cost_of(skip, {"s": False}) == 5
    assert cost_of("{ __schema { types { fields { name } } } }") == 0


def test_cost_follows_fragments_once_per_selection_and_variable_defaults():
    spread_twice = "{ me { ...F ...F } } fragment F on User { sessions { id } }"
    assert cost_of(spread_twice) == 1 + 50
    defaults = "query($n: Int = 3) { events(first: $n) { edges { node { id } } } }"
    assert cost_of(defaults) == 1 + 3 * 2
    assert cost_of(defaults, {"n": 6}) == 1 + 6 * 2
    assert cost_of(alias_bomb(1)) > 5000
