"""``BaseLLM``: CrewAI's base class for custom LLMs (``crewai.llms.base_llm.BaseLLM``).

A subclass implements ``call(messages, tools=None, callbacks=None, available_functions=None,
from_task=None, from_agent=None, response_model=None)`` and returns the text (or a pydantic
model, or a list of OpenAI tool calls); it may override ``acall`` with a native coroutine.
The default ``acall`` runs ``call`` in the runtime's thread pool, so a blocking custom LLM
serves concurrent crews without stalling the event loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..llm import LLM
from ..llm.outcome import apply_stop_words
from ..process_runtime import get_runtime

__all__ = ["DEFAULT_CONTEXT_WINDOW_SIZE", "DEFAULT_SUPPORTS_STOP_WORDS", "BaseLLM"]

DEFAULT_CONTEXT_WINDOW_SIZE = 4096
DEFAULT_SUPPORTS_STOP_WORDS = True


class _BaseLLMType(type(BaseModel)):  # type: ignore[misc]
    """Makes ``isinstance(fastcrew.LLM(...), BaseLLM)`` true, as CrewAI's LLM is a BaseLLM
    (pydantic models take no ``ABC.register``)."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return super().__instancecheck__(obj) or (cls is BaseLLM and isinstance(obj, LLM))


class BaseLLM(BaseModel, ABC, metaclass=_BaseLLMType):
    """A custom LLM, as in CrewAI: a pydantic model with CrewAI's fields (``model``
    required; ``temperature``, ``top_p``, ``max_tokens``, ``stream``, ``seed``, ``api_key``
    (kept out of the repr), ``base_url``, ``stop``, ...). Unknown keyword arguments land in
    ``additional_params``; a subclass may set any attribute of its own in ``__init__``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, populate_by_name=True)

    llm_type: str = "base"
    model: str
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | float | None = None
    stream: bool | None = None
    seed: int | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    n: int | None = None
    api_key: str | None = Field(default=None, repr=False)
    base_url: str | None = None
    provider: str = "openai"
    stop: list[str] = Field(default_factory=list)
    additional_params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _fields(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if not data.get("model"):
            raise ValueError("Model name is required and cannot be empty")
        stop = data.pop("stop_sequences", None)
        stop = data.get("stop") if stop is None else stop
        data["stop"] = _stop_list(stop)
        if not data.get("provider"):
            prefix, sep, _ = str(data["model"]).partition("/")
            data["provider"] = prefix if sep else "openai"
        extras = {k: data.pop(k) for k in [k for k in data if k not in cls.model_fields]}
        data["additional_params"] = {**(data.get("additional_params") or {}), **extras}
        return data

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("stop", "stop_sequences"):
            name, value = "stop", _stop_list(value)
        if name in type(self).model_fields or name.startswith("__"):
            super().__setattr__(name, value)
        else:  # a subclass's own state (``self.calls = []``), as CrewAI allows
            object.__setattr__(self, name, value)

    @property
    def stop_sequences(self) -> list[str]:
        """CrewAI's alias of ``stop``."""
        return self.stop

    @abstractmethod
    def call(
        self,
        messages: str | list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        callbacks: list[Any] | None = None,
        available_functions: Mapping[str, Callable[..., Any]] | None = None,
        from_task: Any = None,
        from_agent: Any = None,
        response_model: type[BaseModel] | None = None,
    ) -> Any:
        """Answer ``messages`` (a string or OpenAI message dicts): the text, a pydantic
        model, or a list of OpenAI tool calls."""

    async def acall(
        self,
        messages: str | list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        callbacks: list[Any] | None = None,
        available_functions: Mapping[str, Callable[..., Any]] | None = None,
        from_task: Any = None,
        from_agent: Any = None,
        response_model: type[BaseModel] | None = None,
    ) -> Any:
        """:meth:`call` in the runtime's thread pool (override with a native coroutine)."""
        return await get_runtime().run_in_thread(
            self.call,
            messages,
            tools=tools,
            callbacks=callbacks,
            available_functions=available_functions,
            from_task=from_task,
            from_agent=from_agent,
            response_model=response_model,
        )

    def supports_function_calling(self) -> bool:
        """Whether agents send native OpenAI ``tools`` (default False: the ReAct format)."""
        return False

    def supports_stop_words(self) -> bool:
        """Whether the LLM honours stop words."""
        return DEFAULT_SUPPORTS_STOP_WORDS

    def get_context_window_size(self) -> int:
        """The model's context window, in tokens."""
        return DEFAULT_CONTEXT_WINDOW_SIZE

    def supports_multimodal(self) -> bool:
        """Whether the LLM takes images or files (default False)."""
        return False

    def _apply_stop_words(self, content: str) -> str:
        """``content`` cut at the first stop word (CrewAI's helper for subclasses)."""
        return apply_stop_words(content, self.stop)


def _stop_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)
