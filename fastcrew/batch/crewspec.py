"""``--crew`` and ``--flow`` specs: ``path/to/file.py:name`` or ``package.module:name``.

Checked (cheaply, without importing) in the supervisor; loaded in each worker (flows with
:func:`fastcrew.flow.load_flow`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._spec import check_spec, import_target
from ..errors import ConfigurationError

if TYPE_CHECKING:
    from ..runtime import Crew

__all__ = ["build_crew", "check_crew_spec", "check_flow_spec", "import_crew", "load_crew"]

_CREW = "a zero-argument function returning a Crew, a Crew, or a @CrewBase class"
_FLOW = "a subclass of fastcrew.flow.Flow"


def check_crew_spec(spec: str) -> tuple[str, str]:
    """Split ``path/to/file.py:name`` or ``package.module:name``; raise on a malformed spec."""
    return check_spec(spec, "--crew", _CREW)


def check_flow_spec(spec: str) -> tuple[str, str]:
    """Like :func:`check_crew_spec`, for ``--flow`` (the name of a Flow subclass)."""
    return check_spec(spec, "--flow", _FLOW)


def _is_crew_class(target: type) -> bool:
    from ..project import is_crew_class  # only for classes: a factory's run skips the import

    return is_crew_class(target)


def import_crew(spec: str) -> Any:
    """Import the spec's file or module; the named object (a factory, Crew or class)."""
    return import_target(spec, "--crew", _CREW)


def build_crew(target: Any, spec: str | Callable[[], Any] | None = None) -> Crew:
    """The crew from an imported ``target``: called if it is a factory (a ``@CrewBase``
    class: ``Cls().crew()``), checked to be a Crew (``spec`` names it in the error)."""
    from ..runtime import Crew

    if isinstance(target, type) and _is_crew_class(target):
        crew = target().crew()
    else:
        crew = target if isinstance(target, Crew) else target() if callable(target) else target
    if not isinstance(crew, Crew):
        named = target if spec is None else spec
        raise ConfigurationError(
            f"--crew {named!r} gave {type(crew).__name__}, not a fastcrew Crew "
            "(expected a zero-argument factory returning a Crew, a Crew, or a @CrewBase class)"
        )
    return crew


def load_crew(spec: str | Callable[[], Any]) -> Crew:
    """Build the crew: import the spec (:func:`import_crew`), then :func:`build_crew`."""
    return build_crew(import_crew(spec) if isinstance(spec, str) else spec, spec)
