"""``fastcrew run``: run a ``crewai create crew`` / ``crewai create flow`` project's kickoff.

As ``crewai run`` does: read the project's ``pyproject.toml``; ``[tool.crewai] type = "flow"``
runs the ``kickoff`` script of ``[project.scripts]``, anything else the ``run_crew`` script.
``crewai run`` starts that script with ``uv run`` in the project's environment; fastcrew
imports it into the current Python instead (``src/`` and the project folder on
``sys.path``), after loading the project's ``.env`` (variables already set win).
"""

from __future__ import annotations

import importlib
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError

__all__ = ["find_script", "load_env_file", "run_project"]


def find_script(folder: Path) -> tuple[str, str, str]:
    """(kind, script name, ``module:function``) of the project in ``folder``."""
    pyproject = folder / "pyproject.toml"
    if not pyproject.is_file():
        raise ConfigurationError(
            f"fastcrew run: no pyproject.toml in {folder}: run it in the folder of a project "
            "made by `crewai create crew NAME` or `crewai create flow NAME`"
        )
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"fastcrew run: {pyproject} is not valid TOML: {exc}") from None
    tool = data.get("tool", {}).get("crewai")
    scripts = data.get("project", {}).get("scripts", {})
    if not isinstance(tool, dict) and not scripts:
        raise ConfigurationError(
            f"fastcrew run: {pyproject} has no [tool.crewai] table and no [project.scripts]: "
            "not a CrewAI project"
        )
    kind = "flow" if isinstance(tool, dict) and tool.get("type") == "flow" else "crew"
    name = "kickoff" if kind == "flow" else "run_crew"
    target = scripts.get(name) if isinstance(scripts, dict) else None
    if not isinstance(target, str) or ":" not in target:
        have = ", ".join(sorted(scripts)) if isinstance(scripts, dict) and scripts else "none"
        raise ConfigurationError(
            f"fastcrew run: {pyproject} has no [project.scripts] {name} = 'package.module:"
            f"function' entry, which a {kind} project runs (scripts there: {have})"
        )
    return kind, name, target


def load_env_file(path: Path) -> list[str]:
    """Set the ``KEY=value`` lines of ``path`` that are not set yet; return the names set.

    Blank lines, ``#`` comments and an ``export`` prefix are allowed; values may be quoted.
    """
    if not path.is_file():
        return []
    names: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        key, value = key.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if key.isidentifier() and key not in os.environ:
            os.environ[key] = value
            names.append(key)
    return names


def run_project(folder: str | os.PathLike[str] | None = None) -> Any:
    """Run the project in ``folder`` (default: the working directory) as ``crewai run``;
    return what its script returns."""
    where = Path(folder or os.getcwd()).resolve()
    kind, name, target = find_script(where)
    module_name, _, function = target.partition(":")
    load_env_file(where / ".env")
    for place in (where, where / "src"):
        if place.is_dir() and str(place) not in sys.path:
            sys.path.insert(0, str(place))
    try:
        module = importlib.import_module(module_name.strip())
    except ModuleNotFoundError as exc:
        if exc.name and module_name.strip().startswith(exc.name):
            raise ConfigurationError(
                f"fastcrew run: cannot import {module_name!r} (the {name} script of this "
                f"{kind} project) from {where / 'src'} or {where}"
            ) from None
        raise
    func = getattr(module, function.strip(), None)
    if not callable(func):
        raise ConfigurationError(
            f"fastcrew run: {module_name} has no function {function!r} (the {name} script)"
        )
    return func()
