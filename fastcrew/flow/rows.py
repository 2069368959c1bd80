"""Running a Flow per input row (what ``fastcrew batch --flow path.py:MyFlow`` needs).

::

    flow_cls = load_flow("path/to/file.py:MyFlow")      # once per worker process
    output = await arun_flow(flow_cls, row)            # per row: a fresh instance
    # output == {"result": <the last method's output>, "state": <the final state>}, JSON-ready

A failing method raises its own error (with a note naming the method), as ``akickoff`` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._spec import import_target
from ..errors import ConfigurationError
from ._state import jsonable
from .flow import Flow

__all__ = ["arun_flow", "as_flow_class", "flow_output", "load_flow"]


def flow_output(flow: Flow[Any], result: Any) -> dict[str, Any]:
    """A finished flow as JSON-ready data: ``{"result": ..., "state": ...}``.

    Crew and agent outputs become ``{"raw", "json_dict", "pydantic"}``; pydantic models are
    dumped in JSON mode; anything else JSON cannot hold is ``str()``-ed.
    """
    return {"result": jsonable(result), "state": flow.state_json()}


async def arun_flow(
    flow_cls: type[Flow[Any]],
    inputs: Mapping[str, Any] | None = None,
    *,
    state_id: str | None = None,
) -> dict[str, Any]:
    """Kick off a fresh ``flow_cls()`` with ``inputs``; return :func:`flow_output` of it.

    ``state_id``: the state's ``id`` when ``inputs`` has none and the state's ``id`` is a
    string (the batch passes one derived from the row, so outputs are deterministic).
    """
    if state_id is not None and (inputs is None or "id" not in inputs) and _str_id(flow_cls):
        inputs = {"id": state_id, **(inputs or {})}
    flow = flow_cls()
    result = await flow.akickoff(inputs)
    return flow_output(flow, result)


def _str_id(flow_cls: type[Flow[Any]]) -> bool:
    """Whether the state of ``flow_cls`` keeps its ``id`` as a string."""
    spec = flow_cls._fastcrew_state
    if spec.model is None or spec.str_id:
        return True
    field = spec.model.model_fields.get("id")
    return field is not None and field.annotation is str


def as_flow_class(target: Any, spec: str = "") -> type[Flow[Any]]:
    """``target`` if it is a Flow subclass, else a :class:`ConfigurationError`."""
    if isinstance(target, type) and issubclass(target, Flow) and target is not Flow:
        return target
    what = f"--flow {spec!r}" if spec else "the flow"
    raise ConfigurationError(
        f"{what} is {type(target).__name__ if not isinstance(target, type) else target!r}, "
        "not a subclass of fastcrew.flow.Flow"
    )


def load_flow(spec: str) -> type[Flow[Any]]:
    """Import ``path/to/file.py:Name`` or ``package.module:Name`` and check it is a Flow class.

    A file is imported under a module name of its own (not ``__main__``), so its
    ``if __name__ == "__main__":`` block does not run; its folder goes on ``sys.path``.
    """
    target = import_target(spec, "--flow", "a subclass of fastcrew.flow.Flow")
    return as_flow_class(target, spec)
