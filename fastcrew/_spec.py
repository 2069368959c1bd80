"""``path/to/file.py:name`` and ``package.module:name`` specs: check them, import the target.

A file is imported under a module name of its own (not ``__main__``, so its
``if __name__ == "__main__":`` block does not run) with its folder on ``sys.path``, as when
running the script; a file inside a package (``src/my_crew/crew.py`` of a ``crewai create``
project) also gets the folder above its top package on ``sys.path``, so its absolute imports
of its own package (``from my_crew.crews...``) work as when the project is installed. A module
path is imported with the working directory on ``sys.path``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any

from .errors import ConfigurationError

__all__ = ["check_spec", "import_target"]


def check_spec(spec: str, option: str, expected: str) -> tuple[str, str]:
    """Split ``spec`` into (file or module, name); raise a clear error when malformed."""
    where, sep, name = spec.rpartition(":")
    if not sep or not where or not name.isidentifier():
        raise ConfigurationError(
            f"{option} {spec!r}: expected 'path/to/file.py:name' or 'package.module:name' "
            f"(name: {expected})"
        )
    if where.endswith(".py") and not os.path.isfile(where):
        raise ConfigurationError(f"{option} {spec!r}: no such file {where!r}")
    return where, name


def _import(where: str, prefix: str) -> Any:
    if not where.endswith(".py"):
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        return importlib.import_module(where)
    path = os.path.abspath(where)
    folder = os.path.dirname(path)
    root = folder
    while os.path.isfile(os.path.join(root, "__init__.py")):
        root = os.path.dirname(root)  # the folder that holds the file's top package
    for place in (root, folder) if root != folder else (folder,):
        if place not in sys.path:
            sys.path.insert(0, place)  # like running the script: its siblings import
    name = prefix + os.path.splitext(os.path.basename(path))[0]
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise ConfigurationError(f"cannot import {where!r}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    return module


def import_target(spec: str, option: str, expected: str) -> Any:
    """Check ``spec``, import its file or module and return the named object."""
    where, name = check_spec(spec, option, expected)
    module = _import(where, f"fastcrew_{option.strip('-')}_")
    try:
        return getattr(module, name)
    except AttributeError:
        raise ConfigurationError(f"{option} {spec!r}: {where!r} has no {name!r}") from None
