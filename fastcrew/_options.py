"""Options declared once: a config dataclass's field carries its help and its bounds.

``option(default, help=..., ge=1)`` is a :func:`dataclasses.field` whose metadata says what the
command line needs (help, short flag, how to read a value) and what a valid value is. The CLI
builds its flags from :func:`declared` (type, choices and bounds included), the config checks
itself with :func:`check_options`, and the Python API takes the fields as keywords — so an
option is written in one place for all three.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import MISSING, dataclass
from typing import Any, Literal

__all__ = ["Declared", "Option", "check_options", "declared", "from_text", "masked_repr", "option"]

Read = Literal["text", "path", "input", "json", "flag"]
"""How the command line reads a value whose type does not say it: plain ``text``, a file
``path``, an ``input`` path (``-`` = stdin, positional), a ``json`` object, or a ``flag``."""

_KEY = "fastcrew.option"


@dataclass(frozen=True, slots=True)
class Option:
    """What an option says beyond its name, type and default."""

    help: str = ""
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    short: str | None = None
    """A one-letter flag besides the long one, e.g. ``"-o"``."""
    read: Read | None = None
    flag: str | None = None
    """The long flag when it is not ``--<name with dashes>``."""
    env: bool = True
    """Whether the CLI also reads it from ``$FASTCREW_<COMMAND>_<NAME>`` (False: the API
    resolves its own default, e.g. from the environment or pyproject.toml)."""
    metavar: str | None = None


@dataclass(frozen=True, slots=True)
class Declared:
    """One declared option, as the CLI and the checks read it."""

    name: str
    default: Any
    """``dataclasses.MISSING`` when the option is required."""
    option: Option
    kind: type | None
    """``int``, ``float``, ``str`` or ``bool`` when the type is one of them (or it or None),
    or the type of the items of a ``tuple[X, ...]``."""
    choices: tuple[str, ...] | None
    """The values of a ``Literal`` type."""
    nullable: bool
    many: bool = False
    """A ``tuple[X, ...]``: one or more values (comma-separated or repeated on the CLI)."""

    @property
    def required(self) -> bool:
        return self.default is MISSING


def option(default: Any = MISSING, **details: Any) -> Any:
    """A dataclass field with its option details (see :class:`Option`)."""
    metadata = {_KEY: Option(**details)}
    if default is MISSING:
        return dataclasses.field(metadata=metadata)
    if isinstance(default, (dict, list, set)):
        raise TypeError("a mutable default needs a factory; use None")
    return dataclasses.field(default=default, metadata=metadata)


_DECLARED: dict[type, tuple[Declared, ...]] = {}


def declared(cls: type) -> tuple[Declared, ...]:
    """The options of a config dataclass, in field order."""
    if cls not in _DECLARED:
        _DECLARED[cls] = _read(cls)
    return _DECLARED[cls]


def _read(cls: type) -> tuple[Declared, ...]:
    hints = typing.get_type_hints(cls)
    found = []
    for f in dataclasses.fields(cls):
        details = f.metadata.get(_KEY)
        if details is None:
            continue
        members = _members(hints[f.name])
        nullable = type(None) in members
        members = [m for m in members if m is not type(None)]
        many = len(members) == 1 and typing.get_origin(members[0]) is tuple
        if many:
            members = [typing.get_args(members[0])[0]]
        kind = members[0] if len(members) == 1 and members[0] in (int, float, str, bool) else None
        choices = None
        if len(members) == 1 and typing.get_origin(members[0]) is Literal:
            choices = tuple(str(v) for v in typing.get_args(members[0]))
        found.append(Declared(f.name, f.default, details, kind, choices, nullable, many))
    return tuple(found)


def _members(hint: Any) -> list[Any]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(hint) for m in _members(arg)]
    return [hint]


def check_options(config: Any, error: type[Exception] = ValueError) -> None:
    """Raise ``error`` naming the first option whose value has the wrong type or bounds."""
    for d in declared(type(config)):
        value = getattr(config, d.name)
        if value is None and d.nullable:
            continue
        if not d.many:
            _check(d, value, error)
        elif not isinstance(value, tuple) or not value:
            raise error(f"{d.name} needs one or more values, got {value!r}")
        else:
            for item in value:
                _check(d, item, error)


def _check(d: Declared, value: Any, error: type[Exception]) -> None:
    if d.choices is not None and value not in d.choices:
        raise error(f"{d.name} must be one of {', '.join(d.choices)}, got {value!r}")
    if (d.kind is int or d.kind is float) and not _is_number(value, d.kind):
        raise error(f"{d.name} must be {_a(d.kind)}, got {value!r}")
    if d.kind is str and not isinstance(value, str):
        raise error(f"{d.name} must be a string, got {value!r}")
    o = d.option
    if o.ge is not None and o.le is not None and not o.ge <= value <= o.le:
        raise error(f"{d.name} must be in [{o.ge:g}, {o.le:g}], got {value!r}")
    if o.ge is not None and value < o.ge:
        raise error(f"{d.name} must be >= {o.ge:g}, got {value!r}")
    if o.gt is not None and value <= o.gt:
        raise error(f"{d.name} must be > {o.gt:g}, got {value!r}")
    if o.le is not None and value > o.le:
        raise error(f"{d.name} must be <= {o.le:g}, got {value!r}")


def _is_number(value: object, kind: type) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) if kind is int else isinstance(value, (int, float))


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def from_text(d: Declared, text: str) -> Any:
    """An option's value from ``KEY=VALUE`` text (``none`` or empty = None where allowed);
    raises ``ValueError`` naming the type it takes."""
    lowered = text.strip().lower()
    if d.nullable and lowered in ("", "none"):
        return None
    if d.many:
        parts = [part.strip() for part in text.split(",") if part.strip()]
        return tuple(_scalar(d, part, part.lower()) for part in parts)
    return _scalar(d, text, lowered)


def _scalar(d: Declared, text: str, lowered: str) -> Any:
    if d.kind is bool:
        if lowered in _TRUE + _FALSE:
            return lowered in _TRUE
        raise ValueError(f"{d.name} takes true or false")
    if d.kind is int or d.kind is float:
        try:
            return d.kind(text)
        except ValueError:
            raise ValueError(f"{d.name} takes {_a(d.kind)}") from None
    return text


def _a(kind: type) -> str:
    return "an integer" if kind is int else "a float"


def masked_repr(config: object, secrets: tuple[str, ...] = ("api_key",)) -> str:
    """``Type(field=value, ...)`` with the secret fields shown as ``'***'``."""
    parts = []
    for f in dataclasses.fields(config):  # type: ignore[arg-type]
        value = getattr(config, f.name)
        shown = "'***'" if f.name in secrets and value is not None else repr(value)
        parts.append(f"{f.name}={shown}")
    return f"{type(config).__name__}({', '.join(parts)})"
