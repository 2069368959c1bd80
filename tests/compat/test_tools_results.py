"""CrewAI compatibility: what the agent reads of a tool's result (``result_schema``,
``format_output_for_agent``) and the authored description / ``formatted_description``, as
CrewAI's ``tests/tools/test_base_tool.py`` pins them down (its ``TestToolOutputSchema`` and
``TestAuthoredDescriptionPreserved``). Coverage and leave-outs: ``test_tools.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from pydantic import BaseModel, Field, RootModel

from fastcrew.tools import BaseTool, tool

# -- result_schema and format_output_for_agent --------------------------------------------


class Hit(BaseModel):
    query: str
    score: float


class Hits(RootModel[list[Hit]]):
    pass


class DeclaredLookup(BaseTool):
    name: str = "search"
    description: str = "Looks a term up in the index"
    result_schema: type[BaseModel] | None = Hit

    def _run(self, query: str) -> dict[str, object]:
        return {"query": query, "score": 0.81}


class AnnotatedLookup(BaseTool):
    name: str = "search"
    description: str = "Looks a term up in the index"

    def _run(self, query: str) -> Hit:
        return Hit(query=query, score=0.72)


class ListLookup(BaseTool):
    name: str = "search"
    description: str = "Looks a term up in the index"

    def _run(self, query: str) -> Hits:
        return Hits([Hit(query=query, score=0.93)])


class DictLookup(BaseTool):
    name: str = "search"
    description: str = "Looks a term up in the index"

    def _run(self, query: str) -> dict[str, object]:
        return {"query": query, "score": 0.55}


def _explicit_decorated() -> BaseTool:
    @tool("search", result_schema=Hit)
    def search(query: str) -> dict[str, object]:
        """Search for a query."""
        return {"query": query, "score": 0.81}

    return search


def _inferred_decorated() -> BaseTool:
    @tool("search")
    def search(query: str) -> Hit:
        """Search for a query."""
        return Hit(query=query, score=0.64)

    return search


def _root_decorated() -> BaseTool:
    @tool("search")
    def search(query: str) -> Hits:
        """Search for a query."""
        return Hits([Hit(query=query, score=0.93)])

    return search


@pytest.mark.parametrize(
    ("make", "raw", "payload"),
    [
        (DeclaredLookup, {"query": "tides", "score": 0.81}, {"query": "tides", "score": 0.81}),
        (
            AnnotatedLookup,
            Hit(query="tides", score=0.72),
            {"query": "tides", "score": 0.72},
        ),
        (
            ListLookup,
            Hits([Hit(query="tides", score=0.93)]),
            [{"query": "tides", "score": 0.93}],
        ),
        (_explicit_decorated, {"query": "tides", "score": 0.81}, {"query": "tides", "score": 0.81}),
        (
            _inferred_decorated,
            Hit(query="tides", score=0.64),
            {"query": "tides", "score": 0.64},
        ),
        (
            _root_decorated,
            Hits([Hit(query="tides", score=0.93)]),
            [{"query": "tides", "score": 0.93}],
        ),
    ],
    ids=["explicit", "inferred", "root", "decorated-explicit", "decorated-inferred", "dec-root"],
)
def test_tools_return_raw_result_and_json_agent_text(
    make: Callable[[], BaseTool], raw: object, payload: object
) -> None:
    t = make()
    result = t.run(query="tides")
    assert result == raw
    assert json.loads(t.format_output_for_agent(result)) == payload
    assert json.loads(t.observation(result)) == payload  # what the agent loop sends


def test_a_non_pydantic_return_annotation_is_no_schema() -> None:
    for t in (DictLookup(),):
        raw = t.run(query="tides")
        assert raw == {"query": "tides", "score": 0.55}
        assert t.format_output_for_agent(raw) == str(raw)

    @tool("search")
    def search(query: str) -> dict[str, object]:
        """Search for a query."""
        return {"query": query, "score": 0.55}

    raw = search.run(query="tides")
    assert search.result_schema is None
    assert search.format_output_for_agent(raw) == str(raw)


def test_explicit_result_schema_wins_over_return_annotation() -> None:
    class OtherShape(BaseModel):
        value: str

    @tool("search", result_schema=OtherShape)
    def search(query: str) -> Hit:
        """Search for a query."""
        return Hit(query=query, score=0.64)

    raw = search.run(query="tides")
    with pytest.warns(RuntimeWarning, match="OtherShape"):
        text = search.format_output_for_agent(raw)
    assert raw == Hit(query="tides", score=0.64)
    assert text == str(raw)


def test_invalid_or_unserializable_typed_output_warns() -> None:
    @tool("search", result_schema=Hit)
    def search(query: str) -> dict[str, object]:
        """Search for a query."""
        return {"query": query, "score": "not-a-float"}

    raw = search.run(query="tides")
    with pytest.warns(RuntimeWarning, match="Failed to validate or serialize") as caught:
        text = search.format_output_for_agent(raw)
    assert text == str(raw)
    assert "not-a-float" not in str(caught[0].message)  # the value never reaches the log

    class OpaqueOutput(BaseModel):
        value: object

    opaque_value = OpaqueOutput(value=object())

    @tool("opaque", result_schema=OpaqueOutput)
    def opaque() -> OpaqueOutput:
        """Return an opaque object."""
        return opaque_value

    result = opaque.run()
    with pytest.warns(RuntimeWarning, match="Failed to validate or serialize"):
        text = opaque.format_output_for_agent(result)
    assert result is opaque_value
    assert text == str(opaque_value)


def test_result_schema_and_custom_formatter_carry_over_to_structured_tool() -> None:
    structured = DeclaredLookup().to_structured_tool()
    raw = structured.invoke({"query": "tides"})
    assert raw == {"query": "tides", "score": 0.81}
    assert json.loads(structured.format_output_for_agent(raw)) == {"query": "tides", "score": 0.81}

    class MarkdownSearchTool(BaseTool):
        name: str = "markdown_search"
        description: str = "Search for information"
        result_schema: type[BaseModel] | None = Hit

        def _run(self, query: str) -> Hit:
            return Hit(query=query, score=0.81)

        def format_output_for_agent(self, raw_result: object) -> str:
            found = Hit.model_validate(raw_result)
            return f"### Search result\n\n- Query: `{found.query}`\n- Score: {found.score}"

    structured = MarkdownSearchTool().to_structured_tool()
    raw = structured.invoke({"query": "tides"})
    assert raw == Hit(query="tides", score=0.81)
    expected = "### Search result\n\n- Query: `tides`\n- Score: 0.81"
    assert structured.format_output_for_agent(raw) == expected
    assert structured.observation(raw) == expected


# -- the authored description (EPD-179) ---------------------------------------------------

AUTHORED = "Returns the current temperature for a city."


def _temperature_tool() -> BaseTool:
    class TempArgs(BaseModel):
        city: str = Field(description="City name to look up.")

    class TempTool(BaseTool):
        name: str = "get_temperature"
        description: str = AUTHORED
        args_schema: type[BaseModel] = TempArgs

        def _run(self, city: str) -> str:
            return f"22C in {city}"

    return TempTool()


def test_authored_description_and_formatted_description() -> None:
    t = _temperature_tool()
    assert t.description == AUTHORED
    formatted = t.formatted_description
    assert "Tool Name: get_temperature" in formatted
    assert "Tool Arguments:" in formatted
    assert '"city"' in formatted
    assert formatted.endswith(f"Tool Description: {AUTHORED}")

    t.description = "Edited description."  # tracks later edits
    assert t.formatted_description.endswith("Tool Description: Edited description.")

    prose = "Formats prompts. The output has a line reading 'Tool Description:' then a summary."
    t.description = prose  # prose mentioning the marker is not cut
    assert t.formatted_description.endswith(f"Tool Description: {prose}")

    t.description = (  # a pre-composed block is not wrapped twice
        "Tool Name: get_temperature\n"
        'Tool Arguments: {"city": "str"}\n'
        f"Tool Description: {AUTHORED}"
    )
    assert t.formatted_description.count("Tool Description:") == 1
    assert t.formatted_description.endswith(f"Tool Description: {AUTHORED}")


def test_prompt_rendering_uses_the_block() -> None:
    # fastcrew's ReAct prompt lists a tool with react_description(); the structured tool
    # keeps the authored description.
    t = _temperature_tool()
    assert t.to_structured_tool().description == AUTHORED
    for candidate in (t, t.to_structured_tool()):
        block = candidate.react_description()
        assert "Tool Name: get_temperature" in block
        assert "Tool Arguments:" in block
        assert f"Tool Description: {AUTHORED}" in block
