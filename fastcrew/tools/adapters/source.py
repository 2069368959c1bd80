"""What kind of foreign tool an object is, told from its class alone (no import of
``crewai`` or ``langchain_core``)."""

from __future__ import annotations

from typing import Any, Literal

__all__ = ["ForeignKind", "ForeignTool", "base_class", "foreign_kind"]

ForeignKind = Literal["crewai", "langchain"]

_ROOTS: dict[ForeignKind, tuple[str, ...]] = {
    "crewai": ("crewai.",),
    "langchain": ("langchain_core.", "langchain."),
}


def base_class(obj: Any, kind: ForeignKind) -> type | None:
    """The framework's ``BaseTool`` class among ``obj``'s bases, or None."""
    roots = _ROOTS[kind]
    for cls in type(obj).__mro__:
        if cls.__name__ == "BaseTool" and cls.__module__.startswith(roots):
            return cls
    return None


def foreign_kind(obj: Any) -> ForeignKind | None:
    """``"crewai"`` for a ``crewai.tools.BaseTool``, ``"langchain"`` for a
    ``langchain_core.tools.BaseTool``, else None."""
    for kind in _ROOTS:
        if base_class(obj, kind) is not None:
            return kind
    return None


class ForeignTool:
    """Mixed into the adapters: ``source`` is the object adapted."""

    source: Any
    name: str

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, source={type(self.source).__name__})"
