"""``JsonSchemaTool``: a tool whose arguments are described by a JSON schema, not a pydantic
model — an MCP server's tools (``inputSchema``) and LangChain tools whose ``args_schema`` is
a dict.

Arguments are checked with ``jsonschema`` (the draft the schema names, else 2020-12) before
the call, as pydantic checks a native tool's: a bad call becomes an observation naming each
problem. Values are passed on as the model sent them (JSON schema validation converts
nothing and fills no defaults). The schema the model sees is the tool's own, cleaned as a
native tool's is (no ``title`` / ``$schema`` keywords, objects closed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr
from referencing import Registry

from ..errors import ToolDefinitionError
from .base import BaseTool
from .schema import parameters_from_json_schema

__all__ = ["AnyArguments", "JsonSchemaTool", "compile_schema", "json_schema_problems"]

MAX_PROBLEMS = 5


class AnyArguments(BaseModel):
    """``args_schema`` of a JSON-schema tool: any object (the JSON schema is the real check)."""

    model_config = ConfigDict(extra="allow")


class JsonSchemaTool(BaseTool):
    """A tool described by ``input_schema`` (a JSON schema of an object). Subclasses
    implement ``_run`` and/or ``async _arun`` taking the arguments as keywords."""

    args_schema: type[BaseModel] = AnyArguments
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    """The JSON schema of the arguments, as the tool's source gave it."""

    _validator: Any = PrivateAttr(default=None)

    def __init__(self, /, **data: Any) -> None:
        super().__init__(**data)
        try:
            self._validator = compile_schema(self.input_schema)
        except ValueError as exc:
            raise ToolDefinitionError(
                f"Tool {self.name!r}: its input schema is not a valid JSON schema ({exc}).",
                tool=self.name,
            ) from exc

    def _validate(self, arguments: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        problems = json_schema_problems(self._validator, arguments)
        if problems:
            raise ValueError(problems)
        return arguments, arguments

    def _schema_identity(self) -> Any:
        return id(self.input_schema)

    def _parameters_schema(self) -> dict[str, Any]:
        return parameters_from_json_schema(self.input_schema)


def compile_schema(schema: dict[str, Any]) -> Any:
    """A validator for ``schema`` (the draft it names, else 2020-12), made once: ``$ref`` s
    resolve inside the schema only (an empty registry: nothing is fetched). Raises
    ``ValueError`` for a schema that is not valid."""
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        raise ValueError(exc.message) from exc
    return cls(schema, registry=Registry())


def json_schema_problems(validator: Any, value: Mapping[str, Any]) -> str:
    """What is wrong with ``value`` for ``validator`` (``path: message; ...``), or ``""``."""
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    shown = [
        f"{'.'.join(str(p) for p in err.absolute_path) or '(arguments)'}: {err.message}"
        for err in errors[:MAX_PROBLEMS]
    ]
    more = len(errors) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
