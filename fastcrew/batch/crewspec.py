"""``--crew`` and ``--flow`` specs: ``path/to/file.py:name`` or ``package.module:name``.

Checked (cheaply, without importing) in the supervisor; loaded in each worker (flows with
:func:`fastcrew.flow.load_flow`).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from ..runtime import Crew

__all__ = ["check_crew_spec", "check_flow_spec", "load_crew"]


def _check(spec: str, option: str, expected: str) -> tuple[str, str]:
    where, sep, name = spec.rpartition(":")
    if not sep or not where or not name.isidentifier():
        raise ConfigurationError(
            f"{option} {spec!r}: expected 'path/to/file.py:name' or 'package.module:name' "
            f"(name: {expected})"
        )
    if where.endswith(".py") and not os.path.isfile(where):
        raise ConfigurationError(f"{option} {spec!r}: no such file {where!r}")
    return where, name


def check_crew_spec(spec: str) -> tuple[str, str]:
    """Split ``path/to/file.py:name`` or ``package.module:name``; raise on a malformed spec."""
    return _check(spec, "--crew", "a zero-argument function returning a Crew, or a Crew")


def check_flow_spec(spec: str) -> tuple[str, str]:
    """Like :func:`check_crew_spec`, for ``--flow`` (the name of a Flow subclass)."""
    return _check(spec, "--flow", "a subclass of fastcrew.flow.Flow")


def _import(where: str) -> Any:
    if where.endswith(".py"):
        path = os.path.abspath(where)
        folder = os.path.dirname(path)
        if folder not in sys.path:
            sys.path.insert(0, folder)  # like running the script: its siblings import
        name = "fastcrew_crew_" + os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ConfigurationError(f"cannot import {where!r}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    return importlib.import_module(where)


def load_crew(spec: str | Callable[[], Any]) -> Crew:
    """Build the crew: import the spec, call it if it is a factory, check it is a Crew."""
    from ..runtime import Crew

    if isinstance(spec, str):
        where, name = check_crew_spec(spec)
        module = _import(where)
        try:
            target = getattr(module, name)
        except AttributeError:
            raise ConfigurationError(f"--crew {spec!r}: {where!r} has no {name!r}") from None
    else:
        target = spec
    crew = target if isinstance(target, Crew) else target() if callable(target) else target
    if not isinstance(crew, Crew):
        raise ConfigurationError(
            f"--crew {spec!r} gave {type(crew).__name__}, not a fastcrew Crew "
            "(expected a zero-argument factory returning a Crew, or a Crew)"
        )
    return crew
