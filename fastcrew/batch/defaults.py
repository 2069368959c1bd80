"""What a batch config leaves open, resolved in one place for the CLI and the API: the crew
or flow (``$FASTCREW_CREW`` / ``$FASTCREW_FLOW``, then ``[tool.fastcrew]`` in pyproject.toml),
the backend, the worker count and the simulator's config."""

from __future__ import annotations

import dataclasses
import os
import sys
import tomllib
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import ConfigurationError
from .config import Backend, BatchConfig, refuse_credentials
from .crewspec import check_crew_spec, check_flow_spec
from .storage.inputs import STDIN

__all__ = ["default_specs", "resolve"]

CREW_ENV = "FASTCREW_CREW"
FLOW_ENV = "FASTCREW_FLOW"
BACKEND_ENV = "FASTCREW_BATCH_BACKEND"
BASE_URL_ENVS = ("OPENAI_BASE_URL", "OPENAI_API_BASE")


def _pyproject_defaults(cwd: str | None, *keys: str) -> list[str | None]:
    """The string values of ``keys`` in ``[tool.fastcrew]`` of ``cwd``'s pyproject.toml."""
    path = os.path.join(cwd or os.getcwd(), "pyproject.toml")
    try:
        with open(path, "rb") as f:
            table = tomllib.load(f).get("tool", {}).get("fastcrew", {})
    except (OSError, tomllib.TOMLDecodeError):
        table = {}
    return [value if isinstance(value := table.get(key), str) else None for key in keys]


def default_specs(cwd: str | None = None) -> tuple[str | None, str | None]:
    """The default ``(crew, flow)`` specs: from ``$FASTCREW_CREW`` / ``$FASTCREW_FLOW`` if
    either is set, else from ``[tool.fastcrew]`` in ``cwd``'s pyproject.toml. A crew and a
    flow set at the same level is a :class:`~fastcrew.ConfigurationError`."""
    levels: tuple[tuple[str, Callable[[], list[str | None]]], ...] = (
        (f"${CREW_ENV} / ${FLOW_ENV}", lambda: [os.getenv(CREW_ENV), os.getenv(FLOW_ENV)]),
        ("[tool.fastcrew] in pyproject.toml", lambda: _pyproject_defaults(cwd, "crew", "flow")),
    )
    for source, read in levels:  # the file is read only when the environment names neither
        crew, flow = read()
        if crew and flow:
            raise ConfigurationError(
                f"both a default crew and a default flow are set ({source}): pass --crew or --flow"
            )
        if crew or flow:
            return crew or None, flow or None
    return None, None


def _crew_or_flow(crew: Any, flow: Any) -> tuple[Any, str | None]:
    """The run's crew or flow: the one given, else the defaults (:func:`default_specs`).
    Both given is an error."""
    if crew is not None and flow is not None:
        raise ConfigurationError(
            "--crew and --flow exclude each other: a batch runs one crew or one flow per row"
        )
    if crew is None and flow is None:
        crew, flow = default_specs()
    crew = _importable(crew)
    if isinstance(crew, str):
        check_crew_spec(crew)
    if flow is not None:
        flow = _importable(flow)
        if not isinstance(flow, str):
            if not isinstance(flow, type):
                raise ConfigurationError(
                    f"flow must be a 'path/to/file.py:FlowClass' spec or a Flow class, not "
                    f"{type(flow).__name__}"
                )
            flow = f"{flow.__module__}:{flow.__qualname__}"  # workers import it by name
        check_flow_spec(flow)
    return crew, flow


def _importable(crew: Any) -> Any:
    """A factory (or Flow class) defined in the running script (``__main__``) becomes a file
    spec, so workers (fresh interpreters) load the script as a module, not as ``__main__``."""
    if crew is None or isinstance(crew, str) or getattr(crew, "__module__", None) != "__main__":
        return crew
    main_file = getattr(sys.modules["__main__"], "__file__", None)
    name = getattr(crew, "__qualname__", "")
    if not main_file or not name.isidentifier():
        raise ConfigurationError(
            "the crew factory must be importable by the worker processes: define it in a "
            "module or a script file (not at an interactive prompt), or pass a "
            "'path/to/file.py:name' spec"
        )
    return f"{main_file}:{name}"


def _sim_config(simulate: Any) -> Any:
    if not simulate:
        return None
    from ..sim import SimConfig

    if simulate is True:
        return SimConfig()
    if isinstance(simulate, SimConfig):
        return simulate
    if isinstance(simulate, Mapping):
        try:
            return SimConfig(**simulate)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"simulator options: {exc}") from None
    raise ConfigurationError("simulate must be True, a SimConfig or a dict of its options")


def resolve(config: BatchConfig) -> BatchConfig:
    """The config with its defaults resolved: the backend, the worker count, the crew or
    flow, the simulator's config; the input checked to exist, and the base URL the workers
    would read from the environment checked to hold no credentials."""
    backend = _backend(config.backend)
    workers = config.workers
    if backend == "ray":
        from .ray import load

        load()  # fails at once, with the install line, when Ray is missing
    elif not workers:
        workers = os.cpu_count() or 1  # Ray's 0 is resolved from the cluster
    if config.inputs != STDIN and not os.path.isfile(config.inputs):
        raise ConfigurationError(f"input {config.inputs!r} does not exist or is not a file")
    crew, flow = _crew_or_flow(config.crew, config.flow)
    if config.base_url is None and not config.simulate:
        for name in BASE_URL_ENVS:  # what the workers' LLMs would read instead
            if os.environ.get(name):
                refuse_credentials(os.environ[name], f"${name}")
    return dataclasses.replace(
        config,
        backend=backend,
        workers=workers,
        crew=crew,
        flow=flow,
        simulate=_sim_config(config.simulate),
        ray_runtime_env=dict(config.ray_runtime_env) if config.ray_runtime_env else None,
    )


def _backend(backend: str | None) -> Backend:
    """The backend asked for, else ``$FASTCREW_BATCH_BACKEND``, else ``[tool.fastcrew]
    backend``, else ``"local"``."""
    chosen = backend or os.environ.get(BACKEND_ENV) or _pyproject_defaults(None, "backend")[0]
    chosen = (chosen or "local").strip().lower()
    if chosen not in ("local", "ray"):
        raise ConfigurationError(
            f"backend must be 'local' or 'ray', not {chosen!r} (from --backend, "
            f"${BACKEND_ENV} or [tool.fastcrew] backend)"
        )
    return chosen  # type: ignore[return-value]
