"""Running a Flow per input row (what ``fastcrew batch --flow path.py:MyFlow`` needs).

::

    flow_cls = load_flow("path/to/file.py:MyFlow")      # once per worker process
    output = await arun_flow(flow_cls, row)            # per row: a fresh instance
    # output == {"result": <the last method's output>, "state": <the final state>}, JSON-ready

A failing method raises its own error (with a note naming the method), as ``akickoff`` does.

With ``persistence=`` and ``key=`` (the batch passes its row store and a key per row), a flow
class using ``@persist`` saves under ``key`` and a second call with the same key continues
the interrupted kickoff where it stopped, or returns the output of a finished one at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._spec import import_target
from ..errors import ConfigurationError
from ._state import jsonable
from .flow import Flow
from .persistence import FlowPersistence
from .persistence.recorder import bind, is_persisted, load

__all__ = ["arun_flow", "as_flow_class", "flow_output", "import_flow", "load_flow"]


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
    persistence: FlowPersistence | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """Kick off a fresh ``flow_cls()`` with ``inputs``; return :func:`flow_output` of it.

    ``state_id``: the state's ``id`` when ``inputs`` has none and the state's ``id`` is a
    string (the batch passes one derived from the row, so outputs are deterministic).
    ``persistence`` / ``key``: for a class using ``@persist``, the store and the key to save
    under instead of its own store and state id (ignored for other classes): an unfinished
    kickoff saved there is continued (the inputs are already in its state), a finished
    one's output returned without running anything.
    """
    if state_id is not None and (inputs is None or "id" not in inputs) and _str_id(flow_cls):
        inputs = {"id": state_id, **(inputs or {})}
    flow = flow_cls()
    if persistence is not None and is_persisted(flow_cls):
        row_key = key or state_id or flow.flow_id
        checkpoint = await load(persistence, row_key, flow_cls.__name__)
        if checkpoint is not None and checkpoint.finished:
            return {"result": checkpoint.result, "state": checkpoint.state}
        if checkpoint is not None and checkpoint.frame is None:
            checkpoint = None  # only a state, no position: start over
        bind(flow, persistence, row_key, checkpoint)
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


def import_flow(spec: str) -> Any:
    """Import ``path/to/file.py:Name`` or ``package.module:Name``; the named object
    (unchecked: :func:`as_flow_class` checks it)."""
    return import_target(spec, "--flow", "a subclass of fastcrew.flow.Flow")


def load_flow(spec: str) -> type[Flow[Any]]:
    """Import ``path/to/file.py:Name`` or ``package.module:Name`` and check it is a Flow class.

    A file is imported under a module name of its own (not ``__main__``), so its
    ``if __name__ == "__main__":`` block does not run; its folder goes on ``sys.path``.
    """
    return as_flow_class(import_flow(spec), spec)
