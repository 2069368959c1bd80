"""Reading ``agents.yaml`` / ``tasks.yaml``: the one module that imports pyyaml.

Each file is parsed once per process: the result is cached by path and kept while the
file's modification time and size stay the same, so building a ``@CrewBase`` crew per row
costs a ``stat``, not a parse.
"""

from __future__ import annotations

import os
from typing import Any

import yaml

from ..errors import ProjectConfigError

__all__ = ["load_yaml"]

_cache: dict[str, tuple[int, int, Any]] = {}


def load_yaml(path: str, what: str) -> Any:
    """The parsed document at ``path`` (absolute); ``what`` names it in errors.

    Raises :class:`FileNotFoundError` when the file does not exist (the caller decides
    whether that is an error) and :class:`ProjectConfigError` when it is not valid YAML.
    The cached document is shared: callers copy what they change.
    """
    st = os.stat(path)
    found = _cache.get(path)
    if found is not None and found[0] == st.st_mtime_ns and found[1] == st.st_size:
        return found[2]
    try:
        with open(path, encoding="utf-8") as fh:
            document = yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProjectConfigError(
            f"{what} {path}: not valid YAML{where}: {problem}", file=path
        ) from None
    except UnicodeDecodeError as exc:
        raise ProjectConfigError(f"{what} {path}: not UTF-8 text ({exc})", file=path) from None
    _cache[path] = (st.st_mtime_ns, st.st_size, document)
    return document
