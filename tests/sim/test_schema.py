"""json_schema answers: sample instances validate against the pydantic models that made them."""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import uuid
from decimal import Decimal
from ipaddress import IPv4Address
from typing import Annotated, Any, Literal, Optional, Union

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import AnyUrl, BaseModel, Field, create_model

from fastcrew._json import dumps, loads
from fastcrew.sim.schema import sample_instance

DIGEST = "0123456789abcdef0123456789abcdef"
TEXT = "Simulated answer 01234567 to: describe a person"


def sample_json(schema: Any) -> str:
    return dumps(sample_instance(schema, TEXT, DIGEST)).decode()


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Address(BaseModel):
    street: str
    city: str = "Paris"
    zip_code: Annotated[str, Field(min_length=5, max_length=5)]


class Person(BaseModel):
    name: str
    age: Annotated[int, Field(ge=18, le=99)]
    height_m: Annotated[float, Field(gt=0, lt=3)]
    email: str | None = None
    tags: list[str]
    scores: dict[str, int]
    address: Address
    previous: list[Address] = []
    favourite: Color
    mood: Literal["happy", "sad"]
    kind: Literal["person"] = "person"
    active: bool
    born: dt.date
    seen_at: dt.datetime
    wakes: dt.time
    timeout: dt.timedelta
    id: uuid.UUID
    home: AnyUrl
    ip: IPv4Address
    pair: tuple[int, str]
    unique: set[int]
    price: Decimal
    step: Annotated[int, Field(multiple_of=5, gt=3)]
    nothing: None = None


class Cat(BaseModel):
    pet_type: Literal["cat"]
    lives: int


class Dog(BaseModel):
    pet_type: Literal["dog"]
    good: bool


class Owner(BaseModel):
    pet: Annotated[Union[Cat, Dog], Field(discriminator="pet_type")]  # noqa: UP007
    pets: list[Cat | Dog]


class Tree(BaseModel):
    label: str
    children: list[Tree]
    parent: Optional[Tree] = None  # noqa: UP045


class Wrapper(BaseModel):
    items: Annotated[list[Address], Field(min_length=3, max_length=4)]
    answer: str


@pytest.mark.parametrize("model", [Address, Person, Owner, Tree, Wrapper])
def test_pydantic_models_validate(model: type[BaseModel]) -> None:
    content = sample_json(model.model_json_schema())
    instance = model.model_validate_json(content)
    assert instance is not None


def test_first_free_string_carries_the_echo_and_others_the_digest_tag() -> None:
    data = loads(sample_json(Address.model_json_schema()))
    assert data["street"] == TEXT
    assert data["city"] == "city 01234567"
    assert len(data["zip_code"]) == 5


def test_same_inputs_same_instance() -> None:
    schema = Person.model_json_schema()
    assert sample_json(schema) == sample_json(schema)
    other = dumps(sample_instance(schema, TEXT, "f" * 32)).decode()
    assert other != sample_json(schema)


def test_recursion_terminates() -> None:
    data = loads(sample_json(Tree.model_json_schema()))
    depth = 0
    node = data
    while node["children"]:
        node = node["children"][0]
        depth += 1
    assert 0 < depth < 10


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#/$defs/A", "$defs": {"A": {"$ref": "#/$defs/A"}}},
        {"allOf": [{"$ref": "#/$defs/A"}], "$defs": {"A": {"$ref": "#/$defs/A"}}},
    ],
)
def test_a_cycle_of_bare_refs_terminates(schema: dict[str, Any]) -> None:
    assert isinstance(loads(sample_json(schema)), str)


def test_hand_written_schema_features() -> None:
    schema = {
        "type": "object",
        "definitions": {"Id": {"type": "integer", "minimum": 5, "exclusiveMinimum": True}},
        "properties": {
            "id": {"$ref": "#/definitions/Id"},
            "maybe": {"type": ["string", "null"], "format": "email"},
            "const": {"const": 7},
            "both": {
                "allOf": [
                    {"properties": {"a": {"type": "integer"}}, "required": ["a"]},
                    {"properties": {"b": {"type": "boolean"}}},
                ]
            },
            "one": {"oneOf": [{"type": "null"}, {"type": "number", "maximum": -10}]},
            "free": {},
            "many": {"type": "array", "items": {"enum": ["x", "y"]}, "minItems": 3},
            "map": {
                "type": "object",
                "additionalProperties": {"type": "number"},
                "minProperties": 2,
            },
            "closed": {"type": "object", "additionalProperties": False},
            "pointer": {"$ref": "#/properties/const"},
            "uri": {"type": "string", "format": "uri"},
            "datetime": {"type": "string", "format": "date-time"},
        },
        "required": ["id"],
    }
    data = loads(sample_json(schema))
    assert data["id"] > 5
    assert isinstance(data["id"], int)
    assert data["maybe"].endswith("@example.com")
    assert data["const"] == 7 == data["pointer"]
    assert isinstance(data["both"]["a"], int)
    assert isinstance(data["both"]["b"], bool)
    assert data["one"] <= -10
    assert isinstance(data["free"], str)
    assert len(data["many"]) == 3
    assert set(data["many"]) <= {"x", "y"}
    assert len(data["map"]) == 2
    assert all(isinstance(v, float) for v in data["map"].values())
    assert data["closed"] == {}
    assert data["uri"].startswith("https://")
    assert dt.datetime.fromisoformat(data["datetime"])


# -- property test: random pydantic models ------------------------------------------------

_names = itertools.count()


def _model(types: list[Any], optional: list[bool]) -> type[BaseModel]:
    fields: dict[str, Any] = {
        f"f{i}": ((Optional[t], None) if opt else (t, ...))  # noqa: UP045
        for i, (t, opt) in enumerate(zip(types, optional, strict=False))
    }
    return create_model(f"Gen{next(_names)}", **fields)


_ints = st.builds(
    lambda lo, span: Annotated[int, Field(ge=lo, le=lo + span)],
    st.integers(-1000, 1000),
    st.integers(0, 50),
)
_floats = st.builds(
    lambda lo, span: Annotated[float, Field(gt=lo, lt=lo + span)],
    st.floats(-1000, 1000),
    st.floats(0.01, 100),
)
_strings = st.builds(
    lambda lo, extra: Annotated[str, Field(min_length=lo, max_length=lo + extra)],
    st.integers(0, 30),
    st.integers(0, 30),
)
_literals = st.lists(
    st.text("abcxyz", min_size=1, max_size=4) | st.integers(-5, 5),
    min_size=1,
    max_size=4,
    unique=True,
).map(lambda values: Literal[tuple(values)])
_scalars = st.one_of(
    st.sampled_from([int, float, str, bool, dt.date, dt.datetime, uuid.UUID]),
    _ints,
    _floats,
    _strings,
    _literals,
)
_types = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        inner.map(lambda t: list[t]),  # type: ignore[valid-type]
        inner.map(lambda t: Optional[t]),  # noqa: UP045
        inner.map(lambda t: dict[str, t]),  # type: ignore[valid-type]
        st.lists(st.tuples(inner, st.booleans()), min_size=1, max_size=4).map(
            lambda pairs: _model([t for t, _ in pairs], [o for _, o in pairs])
        ),
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(_types, st.booleans()), min_size=1, max_size=5),
    st.text("0123456789abcdef", min_size=32, max_size=32),
)
def test_generated_models_validate(fields: list[tuple[Any, bool]], digest: str) -> None:
    model = _model([t for t, _ in fields], [o for _, o in fields])
    content = dumps(sample_instance(model.model_json_schema(), TEXT, digest)).decode()
    model.model_validate_json(content)


async def test_an_unusable_schema_reference_is_a_400_not_a_500(sim):
    from fastcrew import LLM, errors
    from fastcrew.limits import RetryPolicy

    llm = LLM("m", base_url=sim.base_url, retry=RetryPolicy(max_attempts=1))
    bad = {"type": "json_schema", "json_schema": {"name": "a", "schema": {"$ref": "#/$defs/x"}}}
    with pytest.raises(errors.BadRequestError, match="Invalid schema"):
        await llm.achat("x", response_format=bad)
