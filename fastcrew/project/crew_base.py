"""``@CrewBase``: a class whose agents and tasks come from ``config/agents.yaml`` and
``config/tasks.yaml``, as ``crewai create crew`` writes them.

Paths are relative to the folder of the file that defines the class (``agents_config`` /
``tasks_config`` class attributes; default ``config/agents.yaml`` / ``config/tasks.yaml``).
After ``__init__``, ``self.agents_config`` / ``self.tasks_config`` hold the entries with
names resolved as CrewAI resolves them: a task's ``agent`` is the ``@agent`` method's
Agent, ``context`` the ``@task`` methods' Tasks, ``tools`` the ``@tool`` methods' tools, an
agent's ``llm`` the ``@llm`` method's LLM (or stays a model string).

Cost per instance: a ``stat`` per file (each file is parsed and checked once per process),
a copy of each entry, and the decorated methods the resolution calls.
"""

from __future__ import annotations

import functools
import inspect
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConfigurationError, ProjectConfigError
from ._yaml import load_yaml
from .annotations import KIND
from .schema import DROPPED, Checked, check_document

__all__ = ["CrewBase", "collect", "hook_up", "is_crew_class"]

C = TypeVar("C", bound=type)

_KINDS = (
    "agent",
    "task",
    "crew",
    "llm",
    "tool",
    "callback",
    "cache_handler",
    "before_kickoff",
    "after_kickoff",
    "output_json",
    "output_pydantic",
)
_DEPTH = "_fastcrew_init_depth"
_SPEC = "_fastcrew_crewbase_spec"
_FILES = {
    "agent": ("agents_config", "config/agents.yaml"),
    "task": ("tasks_config", "config/tasks.yaml"),
}


@dataclass(slots=True)
class _Spec:
    """What a concrete @CrewBase class needs, worked out on its first instance."""

    name: str
    members: dict[str, tuple[str, ...]]
    paths: dict[str, tuple[str | None, bool]]  # kind -> (absolute path or None, set explicitly?)
    what: dict[str, str]  # kind -> "agents_config of Name:"
    checked: dict[str, tuple[Any, _Plan]]  # kind -> (parsed document, its plan)


_Plan = tuple[tuple[str, dict[str, Any], tuple[Any, ...], tuple[str, ...]], ...]
"""Per entry: (name, settings, references to resolve, keys to drop)."""


class _Entries(dict[str, Any]):
    """``agents_config`` / ``tasks_config``: entries by name; a missing one names the file."""

    def __init__(self, what: str, path: str | None, exists: bool, owner: Any) -> None:
        super().__init__()
        self.what = what
        self.path = path
        self.exists = exists
        self.owner = owner
        self.pending: dict[str, tuple[dict[str, Any], tuple[Any, ...], tuple[str, ...]]] = {}
        self.resolving: list[str] = []

    def __missing__(self, name: str) -> Any:
        if self.path is None:
            raise ProjectConfigError(
                f"{self.what} is None, so it has no entry {name!r}; set it to a YAML file",
                entry=name,
            )
        if not self.exists:
            problem = "does not exist, so it has no entries"
        else:
            have = ", ".join(repr(k) for k in self) or "none"
            problem = f"has no entry {name!r} (its entries: {have})"
        raise ProjectConfigError(
            f"{self.what} {self.path} {problem}; add {name}: with its settings, or fix the name",
            file=self.path,
            entry=name,
        )

    def __getitem__(self, name: str) -> Any:
        if self.resolving and name in self.resolving:
            loop = " -> ".join([*self.resolving[self.resolving.index(name) :], name])
            raise ProjectConfigError(
                f"{self.what} {self.path}, entry {name!r}: its names loop back to it "
                f"({loop}); break the cycle (e.g. in a context: list)",
                file=self.path,
                entry=name,
            )
        if self.pending:
            item = self.pending.pop(name, None)
            if item is not None:
                self.resolving.append(name)
                try:
                    _resolve(self.owner, *item)
                finally:
                    self.resolving.pop()
        return super().__getitem__(name)


def is_crew_class(obj: Any) -> bool:
    """Whether ``obj`` is a class decorated with ``@CrewBase``."""
    return isinstance(obj, type) and getattr(obj, "is_crew_class", False) is True


def CrewBase(cls: C) -> C:
    """Make ``cls`` a crew class: YAML config loaded on each instance, names resolved."""
    if not isinstance(cls, type):
        raise TypeError("@CrewBase decorates a class")
    try:
        cls.base_directory = Path(inspect.getfile(cls)).resolve().parent  # type: ignore[attr-defined]
    except (TypeError, OSError):
        cls.base_directory = Path.cwd()  # type: ignore[attr-defined]
    for kind, (attr, default) in _FILES.items():
        value = getattr(cls, attr, default)
        setattr(cls, f"original_{attr}_path", value)
        setattr(cls, f"_fastcrew_{kind}_explicit", any(attr in vars(k) for k in cls.__mro__))
    cls.is_crew_class = True  # type: ignore[attr-defined]
    cls._crew_name = cls.__name__  # type: ignore[attr-defined]
    original = cls.__dict__.get("__init__")

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        state = self.__dict__
        depth = state.get(_DEPTH, 0)
        state[_DEPTH] = depth + 1
        try:
            if original is not None:
                original(self, *args, **kwargs)
            else:
                super(cls, self).__init__(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            state[_DEPTH] = depth
        if depth == 0:
            del state[_DEPTH]
            _setup(self)

    if original is not None:
        functools.update_wrapper(__init__, original)
    cls.__init__ = __init__  # type: ignore[misc]
    return cls


def _spec_of(cls: type) -> _Spec:
    spec = cls.__dict__.get(_SPEC)
    if spec is not None:
        return spec
    kinds: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            kind = getattr(value, KIND, None)
            if isinstance(kind, str) and kind in _KINDS:
                kinds[attr] = kind
            elif attr in kinds:
                del kinds[attr]  # overridden by a plain attribute
    members = {kind: tuple(a for a, k in kinds.items() if k == kind) for kind in _KINDS}
    base = Path(getattr(cls, "base_directory", Path.cwd()))
    paths: dict[str, tuple[str | None, bool]] = {}
    for kind, (attr, default) in _FILES.items():
        value = getattr(cls, f"original_{attr}_path", default)
        if value is None:  # no config file for this kind (CrewAI: empty entries)
            paths[kind] = (None, True)
            continue
        if not isinstance(value, str | os.PathLike):
            raise ProjectConfigError(
                f"{attr} of @CrewBase class {cls.__name__} must be a path relative to "
                f"{base}, not {type(value).__name__}"
            )
        paths[kind] = (os.path.join(base, value), getattr(cls, f"_fastcrew_{kind}_explicit"))
    what = {kind: f"{attr} of {cls.__name__}:" for kind, (attr, _) in _FILES.items()}
    spec = _Spec(cls.__name__, members, paths, what, {})
    setattr(cls, _SPEC, spec)
    return spec


def _checked(spec: _Spec, cls: type, kind: str) -> tuple[str | None, bool, _Plan | None]:
    path, explicit = spec.paths[kind]
    what = spec.what[kind]
    if path is None:
        return None, False, None
    try:
        document = load_yaml(path, what)
    except FileNotFoundError:
        if explicit:
            raise ProjectConfigError(
                f"{what} {path} does not exist (relative paths start at "
                f"{getattr(cls, 'base_directory', '')}); create it or fix {_FILES[kind][0]}",
                file=path,
            ) from None
        return path, False, None
    except IsADirectoryError:
        raise ProjectConfigError(f"{what} {path} is a folder, not a YAML file", file=path) from None
    found = spec.checked.get(kind)
    if found is not None and found[0] is document:
        return path, True, found[1]
    members = {k: dict.fromkeys(v) for k, v in spec.members.items()}
    checked: Checked = check_document(document, kind, path, what, members)
    llms = spec.members["llm"]
    plan = tuple(
        (
            name,
            settings,
            tuple(ref for ref in checked.refs[name] if ref[1] != "llm" or settings[ref[0]] in llms),
            tuple(DROPPED[kind] & settings.keys()),
        )
        for name, settings in checked.entries.items()
    )
    spec.checked[kind] = (document, plan)
    return path, True, plan


def _resolve(
    self: Any, entry: dict[str, Any], refs: tuple[Any, ...], drops: tuple[str, ...]
) -> None:
    for key, member_kind, many in refs:
        value = entry[key]
        if member_kind in ("output_json", "output_pydantic"):
            entry[key] = getattr(self, value)
        elif many:
            entry[key] = [getattr(self, name)() for name in value]
        else:
            entry[key] = getattr(self, value)()  # an @llm name; a model string stays as is
    for key in drops:
        entry.pop(key, None)


def _setup(self: Any) -> None:
    cls = type(self)
    spec = _spec_of(cls)
    configs: list[_Entries] = []
    for kind, (attr, _) in _FILES.items():
        path, exists, plan = _checked(spec, cls, kind)
        entries = _Entries(spec.what[kind], path, exists, self)
        if plan is not None:
            pending = entries.pending
            for name, settings, refs, drops in plan:
                entry = settings.copy()
                dict.__setitem__(entries, name, entry)
                if refs or drops:
                    pending[name] = (entry, refs, drops)
        setattr(self, attr, entries)
        configs.append(entries)
    for entries in configs:  # agents first, then tasks, each in file order
        for name in list(entries.pending):
            _ = entries[name]  # resolves the entry if nothing did yet
    for entries in configs:
        entries.owner = None  # all resolved: no reference cycle back to the instance


def collect(self: Any) -> None:
    """Call every ``@task`` and ``@agent`` method; set ``self.tasks`` and ``self.agents``."""
    spec = _spec_of(type(self))
    tasks = [getattr(self, name)() for name in spec.members["task"]]
    agents = [getattr(self, name)() for name in spec.members["agent"]]
    seen = {id(a) for a in agents}
    for one in tasks:
        owner = getattr(one, "agent", None)
        if owner is not None and id(owner) not in seen:
            seen.add(id(owner))
            agents.append(owner)
    self.tasks = tasks
    self.agents = agents


def hook_up(self: Any, built: Any) -> Any:
    """Name the crew after the class (unless named) and attach the kickoff hooks."""
    from ..runtime import Crew

    spec = _spec_of(type(self))
    if not isinstance(built, Crew):
        raise ConfigurationError(
            f"the @crew method of {spec.name} returned {type(built).__name__}, not a fastcrew Crew"
        )
    if "name" not in built.model_fields_set:
        built.name = spec.name
    for name in spec.members["before_kickoff"]:
        built.before_kickoff_callbacks.append(getattr(self, name))
    for name in spec.members["after_kickoff"]:
        built.after_kickoff_callbacks.append(getattr(self, name))
    return built
