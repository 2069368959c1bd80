"""What an ``agents.yaml`` / ``tasks.yaml`` entry may hold, checked once per file and class.

Keys are the ones CrewAI maps: an agent's ``llm`` (a model string or an ``@llm`` method),
``tools`` (``@tool`` methods), ``step_callback`` / ``cache_handler``; a task's ``agent``
(an ``@agent`` method), ``context`` (``@task`` methods), ``tools``, ``output_json`` /
``output_pydantic`` (classes marked with the decorators of the same name) and ``callbacks``;
plus every argument ``Agent(...)`` / ``Task(...)`` takes. Anything else is an error naming
the file, the entry and the key (CrewAI drops unknown keys silently). Plain values are
validated with the field's own pydantic type, so a bad type names its file and entry too.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from ..errors import ProjectConfigError
from ..runtime import Agent, Task, compat

__all__ = ["AGENT_REFS", "TASK_REFS", "Checked", "check_document"]

# key -> (kind of decorated member it names, a list of names?)
AGENT_REFS: dict[str, tuple[str, bool]] = {
    "llm": ("llm", False),
    "function_calling_llm": ("llm", False),
    "tools": ("tool", True),
    "step_callback": ("callback", False),
    "cache_handler": ("cache_handler", False),
}
TASK_REFS: dict[str, tuple[str, bool]] = {
    "agent": ("agent", False),
    "context": ("task", True),
    "tools": ("tool", True),
    "output_json": ("output_json", False),
    "output_pydantic": ("output_pydantic", False),
    "callbacks": ("callback", True),
}
# Names resolved (so a typo still fails) but not handed to the constructor: fastcrew has no
# tool-result cache, and CrewAI's Task has no ``callbacks`` field either (it drops them).
DROPPED: dict[str, frozenset[str]] = {
    "agent": frozenset({"cache_handler"}),
    "task": frozenset({"callbacks"}),
}
# A name that is not an @llm method is a model string, as in CrewAI.
_OPTIONAL_REF = frozenset({"llm", "function_calling_llm"})
_NOT_IN_YAML = frozenset({"id", "config"})

_MODELS: dict[str, type[BaseModel]] = {"agent": Agent, "task": Task}
_TABLES = {"agent": compat.AGENT, "task": compat.TASK}
_REFS = {"agent": AGENT_REFS, "task": TASK_REFS}
_adapters: dict[tuple[str, str], TypeAdapter[Any] | None] = {}


@dataclass(frozen=True, slots=True)
class Checked:
    """One checked file: entry name -> its settings, and what each entry refers to."""

    entries: dict[str, dict[str, Any]]
    refs: dict[str, tuple[tuple[str, str, bool], ...]]
    """entry -> ((key, kind, is_list), ...) for the keys that name decorated members."""


def _adapter(kind: str, key: str) -> TypeAdapter[Any] | None:
    if (kind, key) in _adapters:
        return _adapters[(kind, key)]
    annotation = _MODELS[kind].model_fields[key].annotation
    found: TypeAdapter[Any] | None
    try:
        found = TypeAdapter(
            Any if annotation is None else annotation, config={"arbitrary_types_allowed": True}
        )
    except Exception:  # an annotation pydantic cannot build alone: the model checks it
        found = None
    _adapters[(kind, key)] = found
    return found


def _fail(what: str, path: str, entry: str | None, key: str | None, problem: str) -> None:
    where = f"{what} {path}"
    if entry is not None:
        where += f", entry {entry!r}"
    if key is not None:
        where += f", key {key!r}"
    raise ProjectConfigError(f"{where}: {problem}", file=path, entry=entry, key=key)


def _suggest(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _known(kind: str) -> frozenset[str]:
    unsupported, ignored = _TABLES[kind]
    fields = set(_MODELS[kind].model_fields) - _NOT_IN_YAML
    return frozenset(fields | set(unsupported) | set(ignored) | set(_REFS[kind]))


def _check_value(kind: str, what: str, path: str, entry: str, key: str, value: Any) -> None:
    unsupported, ignored = _TABLES[kind]
    if key in unsupported and value:
        _fail(what, path, entry, key, f"not supported by fastcrew yet: {unsupported[key]}")
    if key in ignored or key not in _MODELS[kind].model_fields:
        return
    adapter = _adapter(kind, key)
    if adapter is None:
        return
    try:
        adapter.validate_python(value)
    except ValidationError as exc:
        message = "; ".join(err["msg"] for err in exc.errors()) or str(exc)
        _fail(what, path, entry, key, f"{message} (got {value!r})")


def check_document(
    document: Any,
    kind: str,
    path: str,
    what: str,
    members: Mapping[str, Mapping[str, Any]],
) -> Checked:
    """Check a parsed file against the keys of ``kind`` ("agent" or "task") and the
    decorated ``members`` of the class (kind -> name -> member); raise on the first problem.
    """
    if document is None:
        document = {}
    if not isinstance(document, Mapping):
        _fail(
            what,
            path,
            None,
            None,
            f"expected a mapping of {kind} names to their settings, got {type(document).__name__}",
        )
    known = _known(kind)
    refs_of = _REFS[kind]
    entries: dict[str, dict[str, Any]] = {}
    refs: dict[str, tuple[tuple[str, str, bool], ...]] = {}
    for entry, settings in document.items():
        name = str(entry)
        if settings is None:
            settings = {}
        if not isinstance(settings, Mapping):
            _fail(
                what,
                path,
                name,
                None,
                f"expected a mapping of settings (role: ..., goal: ...), got "
                f"{type(settings).__name__} {settings!r}",
            )
        found: list[tuple[str, str, bool]] = []
        for raw_key, value in settings.items():
            key = str(raw_key)
            if key not in known:
                _fail(
                    what,
                    path,
                    name,
                    key,
                    f"unknown {kind} setting{_suggest(key, known)}; "
                    f"fastcrew takes: {', '.join(sorted(known))}",
                )
            if key in refs_of:
                member_kind, many = refs_of[key]
                _check_ref(what, path, name, key, value, member_kind, many, members)
                if value not in (None, [], ""):
                    found.append((key, member_kind, many))
            else:
                _check_value(kind, what, path, name, key, value)
        entries[name] = dict(settings)
        refs[name] = tuple(found)
    return Checked(entries, refs)


def _check_ref(
    what: str,
    path: str,
    entry: str,
    key: str,
    value: Any,
    member_kind: str,
    many: bool,
    members: Mapping[str, Mapping[str, Any]],
) -> None:
    if value is None:
        return
    names = members.get(member_kind, {})
    if many:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            _fail(
                what,
                path,
                entry,
                key,
                f"expected a list of @{member_kind} method names, got {value!r}",
            )
        items = value
    else:
        if not isinstance(value, str):
            if key in _OPTIONAL_REF:  # an LLM object can only come from code
                _fail(
                    what,
                    path,
                    entry,
                    key,
                    f"expected a model string or an @llm method name, got {value!r}",
                )
            _fail(what, path, entry, key, f"expected an @{member_kind} name, got {value!r}")
        items = [value]
    if key in _OPTIONAL_REF:
        return
    for item in items:
        if item not in names:
            have = ", ".join(sorted(names)) or "none"
            _fail(
                what,
                path,
                entry,
                key,
                f"{item!r} is not an @{member_kind} of the class{_suggest(item, names)} "
                f"(its @{member_kind} members: {have})",
            )
