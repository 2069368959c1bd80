"""CrewAI's call surface of :class:`~fastcrew.llm.LLM`: ``call`` / ``acall`` and the
capability checks agents ask an LLM (function calling, stop words), as a mixin."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from ..process_runtime import get_runtime
from .outcome import call_outcome, is_model_class, openai_tools
from .wire import Messages

if TYPE_CHECKING:
    from .client import LLM

__all__ = ["CrewAICalls"]


def _llm(mixin: CrewAICalls) -> LLM:
    return cast("LLM", mixin)


class CrewAICalls:
    """``call`` / ``acall`` (CrewAI's text, model or tool results) on top of ``LLM.achat``."""

    __slots__ = ()

    def supports_function_calling(self) -> bool:
        """Whether agents use native tool calls (OpenAI ``tools``) with this model.

        True unless ``LLM(..., supports_function_calling=False)`` was given or the provider
        rejected a request with ``tools`` (then agents fall back to the ReAct text format).
        """
        return _llm(self)._function_calling is not False

    def refuse_function_calling(self) -> None:
        """The provider rejected ``tools``: use the ReAct text format from now on."""
        _llm(self)._function_calling = False

    def supports_stop_words(self) -> bool:
        """Whether the model takes ``stop`` (CrewAI's rule: not the gpt-5 and o1 families).
        When it does, ``stop`` is sent with every request; :meth:`call` cuts its text at the
        first stop word either way."""
        name = _llm(self).model_name.lower()
        return "gpt-5" not in name and "o1" not in name

    async def acall(
        self,
        messages: Messages,
        tools: list[dict[str, Any]] | None = None,
        callbacks: list[Any] | None = None,
        available_functions: Mapping[str, Callable[..., Any]] | None = None,
        from_task: Any = None,
        from_agent: Any = None,
        response_model: type[Any] | None = None,
        **overrides: Any,
    ) -> Any:
        """CrewAI's ``acall``: the answer's text, as CrewAI returns it.

        ``tools`` are OpenAI tool schemas (or CrewAI's flat ``{"name", "description",
        "parameters"}``). When the model calls one: without
        ``available_functions`` the calls are returned (a list of :class:`ToolCall`); with
        them the first available function runs (``async def`` ones are awaited, plain ones
        run in the runtime's thread pool) and its result is returned as text. A pydantic
        ``response_model`` (or the LLM's ``response_format``) returns the validated model.
        Otherwise the text, cut at the first of the LLM's ``stop`` words. With
        ``LLM(stream=True)`` the answer is streamed and assembled. ``callbacks``,
        ``from_task`` and ``from_agent`` are accepted for CrewAI's signature and unused.
        """
        del callbacks, from_task, from_agent
        llm = _llm(self)
        schema = response_model if is_model_class(response_model) else None
        strict = schema is not None
        if schema is None and is_model_class(llm.response_format):
            schema = llm.response_format
        if tools:
            overrides["tools"] = openai_tools(tools)
        wire_format = schema if schema is not None else llm.response_format
        if llm.stream:
            stream = await llm.achat(
                messages, response_format=wire_format, stream=True, **overrides
            )
            async with stream:
                async for _ in stream:
                    pass
            resp = stream.response
        else:
            resp = await llm.achat(messages, response_format=wire_format, **overrides)
        return await call_outcome(
            resp,
            available_functions=available_functions,
            schema=schema,
            strict=strict,
            stop=llm.stop,
            streamed=llm.stream,
        )

    def call(
        self,
        messages: Messages,
        tools: list[dict[str, Any]] | None = None,
        callbacks: list[Any] | None = None,
        available_functions: Mapping[str, Callable[..., Any]] | None = None,
        from_task: Any = None,
        from_agent: Any = None,
        response_model: type[Any] | None = None,
        **overrides: Any,
    ) -> Any:
        """CrewAI's ``call``: synchronous :meth:`acall`; refuses inside a running loop."""
        return get_runtime().run(
            self.acall(
                messages,
                tools,
                callbacks,
                available_functions,
                from_task,
                from_agent,
                response_model,
                **overrides,
            ),
            api="LLM.call",
            async_api="LLM.acall",
        )
