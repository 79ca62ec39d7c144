"""`@gateway_input` builds the same values as `@strawberry.input`, only faster."""

from enum import Enum

import strawberry
from strawberry.scalars import JSON

from schema.inputs import gateway_input


@strawberry.enum
class Speed(Enum):
    SLOW = "SLOW"
    FAST = "FAST"


def echo_schema(decorate) -> strawberry.Schema:
    """A schema whose one field returns repr() of the input it was given."""

    @decorate(name="Part")
    class Part:
        part_name: str
        count: int | None = None

    @decorate(name="Order")
    class Order:
        order_id: strawberry.ID
        speed: Speed = Speed.SLOW
        note: str | None = None
        unset_note: str | None
        extra: JSON | None = None
        tags: list[str] | None = None
        main_part: Part
        spare_parts: list[Part] | None = None
        maybe_part: Part | None = None
        later: strawberry.Maybe[str | None] = None

    @strawberry.type
    class Query:
        @strawberry.field
        def echo(self, order: Order) -> str:
            return repr(order)

    return strawberry.Schema(query=Query)


DOCUMENTS = [
    ('{ echo(order: {orderId: "o1", mainPart: {partName: "a"}}) }', {}),
    ("query($o: Order!) { echo(order: $o) }", {"o": {
        "orderId": "o2", "speed": "FAST", "note": None, "extra": {"k": [1, "v"]},
        "tags": ["x", "y"], "mainPart": {"partName": "b", "count": 3},
        "spareParts": [{"partName": "c"}, {"partName": "d", "count": 0}],
        "maybePart": None, "later": None}}),
    ("query($o: Order!) { echo(order: $o) }", {"o": {
        "orderId": "o3", "unsetNote": "set", "mainPart": {"partName": "e"},
        "maybePart": {"partName": "f"}, "later": "soon"}}),
]


async def test_gateway_inputs_build_what_strawberry_builds():
    plain, direct = echo_schema(strawberry.input), echo_schema(gateway_input)
    for document, variables in DOCUMENTS:
        expected = await plain.execute(document, variable_values=variables)
        got = await direct.execute(document, variable_values=variables)
        assert got.errors == expected.errors
        assert got.data == expected.data


async def test_gateway_inputs_use_the_hook_and_name_fields_in_camel_case():
    direct = echo_schema(gateway_input)
    assert direct.get_type_by_name("Order").from_input is not None
    assert echo_schema(strawberry.input).get_type_by_name("Order").from_input is None
    result = await direct.execute(DOCUMENTS[1][0], variable_values=DOCUMENTS[1][1])
    echoed = result.data["echo"]
    assert "order_id='o2'" in echoed and "speed=<Speed.FAST: 'FAST'>" in echoed
    assert "Part(part_name='c', count=None)" in echoed
    assert "Part(part_name='d', count=0)" in echoed
