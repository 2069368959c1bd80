"""Every exception fastcrew raises, in one hierarchy.

::

    FastCrewError
    ├── ConfigurationError          a bad option or setup: the message says what to fix (ValueError)
    │   ├── LLMConfigurationError   no endpoint for a model: its base URL or API key is missing
    │   ├── UnsupportedFeatureError  a CrewAI feature fastcrew does not run yet (tools, ...)
    │   ├── ProjectConfigError      a @CrewBase project's YAML is missing or wrong (file, entry)
    │   └── ToolDefinitionError     a tool defined wrongly: no docstring, a bad type hint (tool)
    ├── InputError                  a kickoff input is missing or of an unusable type (ValueError)
    ├── StorageError                a batch run could not write its journal or output (path, errno)
    ├── InputReadError              a batch input broke while being read (path, line)
    ├── RunningLoopError            a sync API (kickoff, call) called inside a running event loop
    ├── TaskError                   a task could not produce an acceptable answer (task, agent)
    │   ├── OutputValidationError   structured output still invalid after the repair request
    │   ├── GuardrailError          the guardrail rejected every attempt
    │   └── ExecutionTimeoutError   max_execution_time ran out; the work was cancelled
    ├── FlowError                   a flow could not run as asked (a second concurrent kickoff)
    │   ├── FlowLimitError          max_steps / max_method_calls exceeded (also a RecursionError)
    │   └── FlowPersistenceError    a flow state could not be saved or restored (store, state id)
    └── LLMError                    a chat-completion call failed (status, request_id, error,
                                    body, attempts)
        ├── AuthenticationError     401 / 403: wrong or missing API key
        ├── BadRequestError         400 / 404 / 422: the request itself is wrong
        │   └── ContentFilterError  Azure's content filter refused the prompt (categories)
        ├── QuotaExhaustedError     429 ``insufficient_quota``: stop, this is not a rate limit
        ├── RateLimitError          429: carries ``retry_after`` and which ``limit`` was hit
        ├── ServerError             5xx
        ├── LLMTimeoutError         no answer within the per-call timeout (also a TimeoutError)
        ├── LLMConnectionError      refused, reset or dropped connection (also a ConnectionError)
        └── MalformedResponseError  a 2xx whose body is not a valid chat completion

``LLMError.retryable`` tells the retry policy which failures are worth another attempt.
Messages never contain the API key: they are built from the status, the provider's error
message and our own words only.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ContentFilterError",
    "ExecutionTimeoutError",
    "FastCrewError",
    "FlowError",
    "FlowLimitError",
    "FlowPersistenceError",
    "GuardrailError",
    "InputError",
    "InputReadError",
    "LLMConfigurationError",
    "LLMConnectionError",
    "LLMError",
    "LLMTimeoutError",
    "MalformedResponseError",
    "OutputValidationError",
    "ProjectConfigError",
    "QuotaExhaustedError",
    "RateLimitError",
    "RunningLoopError",
    "ServerError",
    "StorageError",
    "TaskError",
    "ToolDefinitionError",
    "UnsupportedFeatureError",
]


class FastCrewError(Exception):
    """Base class of every fastcrew error."""

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only state (status, task, ...) must survive pickling across processes.
        return (_rebuild, (type(self), str(self), dict(self.__dict__)))


def _rebuild(cls: type[Exception], message: str, state: dict[str, object]) -> Exception:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class ConfigurationError(FastCrewError, ValueError):
    """The setup is incomplete or wrong; the message says what to do.

    Also a ``ValueError``, as CrewAI's validation errors are (pydantic's ``ValidationError``
    is one), so ``except ValueError`` written for CrewAI catches it.
    """


def unwrap_validation_error(exc: Exception) -> Exception:
    """The fastcrew error a pydantic ``ValidationError`` wraps, else ``exc`` itself.

    Pydantic wraps every ``ValueError`` a validator raises, so a ``ConfigurationError`` (a
    ``ValueError``) raised while a model validates would reach the caller as a
    ``ValidationError``: models call this in ``__init__`` to raise the error itself.
    """
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return exc
    for item in errors():
        found = (item.get("ctx") or {}).get("error")
        if isinstance(found, FastCrewError):
            return found
    return exc


class LLMConfigurationError(ConfigurationError):
    """An LLM cannot be built: the model needs a base URL or an API key that is not given
    (argument or environment)."""


class UnsupportedFeatureError(ConfigurationError):
    """A CrewAI feature that fastcrew does not run yet; the message names it."""


class ProjectConfigError(ConfigurationError):
    """A ``@CrewBase`` project's ``agents.yaml`` / ``tasks.yaml`` is missing or wrong.

    ``file`` is the YAML file, ``entry`` the agent or task in it, ``key`` the setting (each
    ``None`` when it does not apply); the message names all three and how to fix it.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        entry: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(message)
        self.file = file
        self.entry = entry
        self.key = key


class ToolDefinitionError(ConfigurationError):
    """A tool is defined wrongly (``@tool`` on a function without a docstring, a parameter type
    pydantic cannot describe, a ``BaseTool`` without ``_run`` / ``_arun``).

    ``tool`` is the tool's (or function's) name.
    """

    def __init__(self, message: str, *, tool: str | None = None) -> None:
        super().__init__(message)
        self.tool = tool


class InputError(FastCrewError, ValueError):
    """A kickoff input is missing for a ``{placeholder}`` or has an unusable type.

    ``variable`` is the placeholder's name, ``where`` the template that needs it.
    """

    def __init__(self, message: str, *, variable: str | None = None, where: str | None = None):
        super().__init__(message)
        self.variable = variable
        self.where = where


class RunningLoopError(FastCrewError, RuntimeError):
    """A synchronous API (``kickoff()``, ``call()``) was called inside a running event loop;
    the message names the awaitable to use instead."""


class TaskError(FastCrewError):
    """A task ran but could not produce an acceptable answer.

    ``task`` is the task's name (or the start of its description), ``agent`` the agent's role.
    """

    def __init__(self, message: str, *, task: str | None = None, agent: str | None = None):
        super().__init__(message)
        self.task = task
        self.agent = agent


class OutputValidationError(TaskError, ValueError):
    """The structured answer failed validation, and so did the one repair attempt."""


class GuardrailError(TaskError):
    """The task's guardrail rejected the answer and every retry (``guardrail_max_retries``)."""


class ExecutionTimeoutError(TaskError, TimeoutError):
    """The agent's ``max_execution_time`` ran out; the in-flight work was cancelled."""


class StorageError(FastCrewError):
    """A batch run could not write one of its files (the journal, the output, the summary):
    disk full, the file or its directory gone, no permission, a file-size limit.

    ``path`` is the file, ``errno`` the OS error number (``errno.ENOSPC``, ...). The run stops
    with status ``storage_error`` (exit code 74) and stays resumable once the cause is fixed.
    """

    def __init__(self, message: str, *, path: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.errno = errno


class InputReadError(FastCrewError):
    """A batch input could not be read on: a truncated ``.gz``, an I/O error. ``path`` is the
    input, ``line`` the last line read. The rows read before finish; the run stops as
    ``bad_input`` (exit 65), resumable once the input is whole again."""

    def __init__(self, message: str, *, path: str, line: int) -> None:
        super().__init__(message)
        self.path = path
        self.line = line


class FlowError(FastCrewError):
    """A flow could not run as asked (e.g. a second kickoff on an instance already running)."""


class FlowLimitError(FlowError, RecursionError):
    """A kickoff ran more steps than ``max_steps`` (or one method more than
    ``max_method_calls`` times): usually a router loop that never exits.

    Also a ``RecursionError``, which is what CrewAI raises for ``max_method_calls``.
    """


class FlowPersistenceError(FlowError):
    """A persisted flow state could not be saved or restored (``@persist``).

    ``flow_id`` is the state id (the store's key), ``store`` the store's description (e.g.
    the SQLite file); the message says what failed and how to fix it.
    """

    def __init__(self, message: str, *, flow_id: str | None = None, store: str | None = None):
        super().__init__(message)
        self.flow_id = flow_id
        self.store = store


class LLMError(FastCrewError):
    """A chat-completion call failed.

    From a provider's 4xx/5xx answer: ``status``, ``request_id`` (its ``x-request-id``),
    ``error`` (the body's ``error`` object as sent: type, code, param, message; None when the
    body was not JSON) and ``body`` (the raw body, at most 64 KiB) — all with the API key
    redacted. ``attempts``: how many attempts the call made in all (set by the client when it
    gives up; None when the error did not come from a call).
    """

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        error: dict[str, Any] | None = None,
        body: bytes | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.request_id = request_id
        self.error = error
        self.body = body
        self.attempts: int | None = None


class AuthenticationError(LLMError):
    """The provider rejected the API key (401/403)."""


class BadRequestError(LLMError):
    """The provider rejected the request as invalid (400/404/422)."""


class ContentFilterError(BadRequestError):
    """Azure OpenAI's content filter refused the prompt (400 ``content_filter``); not retried.

    ``categories``: ``{category: severity}`` of every category the filter flagged (empty
    when the provider did not say which).
    """

    def __init__(
        self,
        message: str,
        *,
        categories: dict[str, str] | None = None,
        status: int | None = 400,
        request_id: str | None = None,
        error: dict[str, Any] | None = None,
        body: bytes | None = None,
    ) -> None:
        super().__init__(message, status=status, request_id=request_id, error=error, body=body)
        self.categories = dict(categories or {})


class QuotaExhaustedError(LLMError):
    """The account is out of quota (429 ``insufficient_quota``). Retrying will not help."""


class RateLimitError(LLMError):
    """The provider refused the call for now (429).

    ``retry_after`` is in seconds (from ``retry-after-ms`` / ``Retry-After``), ``limit`` is
    ``"requests"``, ``"tokens"``, ``"input_tokens"`` / ``"output_tokens"`` (Anthropic's) or
    ``None`` when the provider did not say.
    """

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 429,
        request_id: str | None = None,
        retry_after: float | None = None,
        limit: str | None = None,
        error: dict[str, Any] | None = None,
        body: bytes | None = None,
    ) -> None:
        super().__init__(message, status=status, request_id=request_id, error=error, body=body)
        self.retry_after = retry_after
        self.limit = limit


class ServerError(LLMError):
    """The provider failed (5xx)."""

    retryable = True


class LLMTimeoutError(LLMError, TimeoutError):
    """No complete answer arrived within the per-call timeout."""

    retryable = True


class LLMConnectionError(LLMError, ConnectionError):
    """The connection could not be made or was dropped mid-call."""

    retryable = True


class MalformedResponseError(LLMError):
    """The provider answered 2xx with a body that is not a valid chat completion."""

    retryable = True
