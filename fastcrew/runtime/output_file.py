"""``Task.output_file``: CrewAI's path checks, and writing a task's answer to it.

The checks are CrewAI's (1.15), made on the template when the task is built: no ``..``
(path traversal), no leading ``~`` or ``$`` (shell expansion), none of ``| > < & ;`` (shell
special characters), and every ``{placeholder}`` an identifier. fastcrew makes them once
more on the rendered path, so an input cannot smuggle a ``..`` in (CrewAI checks the template
only). An absolute path stays absolute (CrewAI drops its leading ``/``).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import InputError
from .outputs import OutputFormat, TaskOutput

__all__ = ["check_output_file", "check_rendered_path", "file_text", "write_file"]

_SHELL_SPECIAL = ("|", ">", "<", "&", ";")


def _problem(path: str) -> str | None:
    """What is wrong with ``path`` by CrewAI's rules (placeholders aside), or None."""
    if ".." in path:
        return "Path traversal attempts are not allowed in output_file paths"
    if path.startswith(("~", "$")):
        return "Shell expansion characters are not allowed in output_file paths"
    if any(char in path for char in _SHELL_SPECIAL):
        return "Shell special characters are not allowed in output_file paths"
    return None


def check_output_file(value: str | None) -> str | None:
    """Validate an ``output_file`` template; raises ``ValueError`` with CrewAI's message."""
    if value is None:
        return None
    problem = _problem(value)
    if problem is not None:
        raise ValueError(f"{problem}: {value!r}")
    if "{" in value or "}" in value:
        for name in (part.split("}")[0] for part in value.split("{")[1:]):
            if not name.isidentifier():
                raise ValueError(f"Invalid template variable name: {name}")
    return value


def check_rendered_path(path: str, template: str, where: str) -> str:
    """The rendered ``output_file`` checked again (an input may not add ``..``, ``~``, ...)."""
    if path != template:
        problem = _problem(path)
        if problem is not None:
            raise InputError(f"{problem}: {where} renders to {path!r}", where=where)
    return path


def file_text(output: TaskOutput) -> str:
    """What a task writes to its ``output_file``: JSON for structured outputs, else raw."""
    if output.output_format is OutputFormat.JSON and output.json_dict is not None:
        return json.dumps(output.json_dict, ensure_ascii=False, indent=2)
    if output.output_format is OutputFormat.PYDANTIC and output.pydantic is not None:
        return output.pydantic.model_dump_json(indent=2)
    return output.raw


def write_file(path: str, text: str, create: bool) -> None:
    """Write ``text`` to ``path`` (relative to the working directory, ``~`` not expanded).

    Without ``create`` a missing directory is CrewAI's ``RuntimeError``.
    """
    target = Path(path).resolve()
    directory = target.parent
    if not directory.exists():
        if not create:
            raise RuntimeError(
                f"Directory {directory} does not exist and create_directory is False"
            )
        directory.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
