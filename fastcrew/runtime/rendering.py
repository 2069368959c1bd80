"""``{placeholder}`` templates: parsed once, rendered per run, never mutated.

A placeholder is ``{name}`` where ``name`` is an identifier (letters, digits, ``_``, ``-``);
other braces (JSON examples, ``{ }``) are left alone. CrewAI's rules (1.15):

- no inputs (``None`` or ``{}``): nothing is filled, placeholders stay in the text as written;
- some inputs: every placeholder must have one, else :class:`InputError` names it;
- values are str, int, float, bool, None, list or dict, nested lists and dicts holding the
  same (anything else is an ``InputError``); each is written as ``str(value)``, so a list or
  dict appears as Python writes it (``['a', 'b']``, ``{'k': None}``), as in CrewAI.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..errors import InputError

__all__ = ["check_inputs", "names", "placeholders", "render"]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_\-]*)\}")
_SCALARS = (str, int, float, bool, type(None))
_ALLOWED = "str, int, float, bool, None, list or dict (lists and dicts holding the same)"

# template text -> literal pieces and variable names, alternating: [lit, var, lit, var, lit]
_parsed: dict[str, tuple[str, ...]] = {}
_MAX_CACHED = 4096


def _parse(template: str) -> tuple[str, ...]:
    parts = _parsed.get(template)
    if parts is None:
        parts = tuple(_PLACEHOLDER.split(template))
        if len(_parsed) >= _MAX_CACHED:
            _parsed.clear()
        _parsed[template] = parts
    return parts


_names: dict[str, frozenset[str]] = {}


def placeholders(template: str) -> list[str]:
    """The variable names a template needs, in order of appearance."""
    return list(_parse(template)[1::2])


def names(template: str) -> frozenset[str]:
    """The set of variable names a template needs (cached)."""
    found = _names.get(template)
    if found is None:
        if len(_names) >= _MAX_CACHED:
            _names.clear()
        found = _names[template] = frozenset(_parse(template)[1::2])
    return found


def _unsupported(value: Any) -> type | None:
    """The first type in ``value`` (nested lists and dicts included) inputs may not hold."""
    if isinstance(value, _SCALARS):
        return None
    if isinstance(value, list | dict):
        for item in value.values() if isinstance(value, dict) else value:
            found = _unsupported(item)
            if found is not None:
                return found
        return None
    return type(value)


def check_inputs(inputs: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate kickoff inputs: a mapping of names to str/int/float/bool/None/list/dict."""
    if inputs is None:
        return {}
    if not isinstance(inputs, Mapping):
        raise InputError(
            f"kickoff inputs must be a dict of names to values, not {type(inputs).__name__}"
        )
    for key, value in inputs.items():
        bad = _unsupported(value)
        if bad is not None:
            where = "has type" if bad is type(value) else "holds a value of type"
            raise InputError(
                f"input {key!r} {where} {bad.__name__} (unsupported); kickoff inputs must be "
                f"{_ALLOWED}",
                variable=str(key),
            )
    return dict(inputs)


def render(template: str, inputs: Mapping[str, Any], where: str) -> str:
    """Fill ``template``'s placeholders from ``inputs``; ``where`` names it in errors.

    Without inputs the template is returned as written (CrewAI interpolates nothing then).
    """
    if not inputs:
        return template
    parts = _parse(template)
    if len(parts) == 1:
        return template
    out = list(parts)
    for i in range(1, len(parts), 2):
        name = parts[i]
        try:
            value = inputs[name]
        except KeyError:
            given = ", ".join(sorted(inputs)) or "none"
            raise InputError(
                f"missing input {name!r} for {where} (inputs given: {given})",
                variable=name,
                where=where,
            ) from None
        out[i] = value if isinstance(value, str) else str(value)
    return "".join(out)
