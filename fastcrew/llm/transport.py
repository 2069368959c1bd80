"""HTTP transports for the LLM client: aiohttp (default, the hot path) and httpx (opt-in).

The default transport keeps one ``aiohttp.ClientSession`` per event loop in the process
:class:`~fastcrew.process_runtime.Runtime`'s loop state (keep-alive pool with no connection
cap of its own: concurrency is bounded by the caller's gate). The runtime closes it when the
loop shuts its async generators down, which ``asyncio.run`` and ``asyncio.Runner`` do, so no
"Unclosed client session" warnings are left behind.

This module is the one boundary where aiohttp / httpx exceptions become fastcrew errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import aiohttp

from ..errors import LLMConnectionError, LLMError, LLMTimeoutError
from ..process_runtime import get_runtime

if TYPE_CHECKING:
    import httpx

__all__ = [
    "AiohttpTransport",
    "HttpResponse",
    "HttpStream",
    "HttpxTransport",
    "Transport",
    "close_session",
    "http_chunks",
    "http_request",
]

DEFAULT_KEEPALIVE_S = 30.0


@dataclass(slots=True)
class HttpResponse:
    """A fully read HTTP response."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class HttpStream(Protocol):
    """An open streaming response: status and headers now, body lines as they arrive."""

    @property
    def status(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...

    def lines(self) -> AsyncIterator[bytes]: ...
    async def read(self) -> bytes: ...
    async def aclose(self) -> None: ...


class Transport(Protocol):
    """Sends POSTs to one endpoint; maps every library error to an :class:`LLMError`."""

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> HttpResponse: ...

    async def open_stream(
        self, url: str, body: bytes, headers: Mapping[str, str]
    ) -> HttpStream: ...


def _timeout_error(origin: str, timeout: float | None) -> LLMTimeoutError:
    within = f"within {timeout:g} s" if timeout is not None else "in time"
    return LLMTimeoutError(f"no answer from {origin} {within}")


def _map_error(exc: BaseException, origin: str, timeout: float | None) -> LLMError:
    if isinstance(exc, TimeoutError):
        return _timeout_error(origin, timeout)
    return LLMConnectionError(f"connection to {origin} failed: {type(exc).__name__}: {exc}")


# -- aiohttp --------------------------------------------------------------------------------

_SESSION = "aiohttp.session"


async def _loop_session() -> aiohttp.ClientSession:
    state = get_runtime().loop_state()
    session: aiohttp.ClientSession | None = state.resources.get(_SESSION)
    if session is not None and not session.closed:
        return session
    connector = aiohttp.TCPConnector(
        limit=0, keepalive_timeout=DEFAULT_KEEPALIVE_S, ttl_dns_cache=300
    )
    session = aiohttp.ClientSession(
        connector=connector,
        skip_auto_headers=("User-Agent",),
        auto_decompress=True,
    )
    state.resources[_SESSION] = session
    state.on_close(session.close)
    return session


async def close_session() -> None:
    """Close this event loop's shared aiohttp session now (it reopens on the next call)."""
    session = get_runtime().loop_state().resources.pop(_SESSION, None)
    if session is not None:
        await session.close()


class _AiohttpStream:
    __slots__ = ("_origin", "_resp", "_timeout", "headers", "status")

    def __init__(self, resp: aiohttp.ClientResponse, origin: str, timeout: float | None) -> None:
        self._resp = resp
        self._origin = origin
        self._timeout = timeout
        self.status = resp.status
        self.headers = resp.headers

    async def lines(self) -> AsyncIterator[bytes]:
        try:
            async for line in self._resp.content:
                yield line
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise _map_error(exc, self._origin, self._timeout) from exc
        finally:
            self._resp.release()

    async def read(self) -> bytes:
        try:
            return await self._resp.read()
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise _map_error(exc, self._origin, self._timeout) from exc
        finally:
            self._resp.release()

    async def aclose(self) -> None:
        self._resp.close()


class AiohttpTransport:
    """The default transport: the running loop's shared aiohttp session."""

    __slots__ = ("_origin", "_post_timeout", "_stream_timeout", "_timeout")

    def __init__(self, origin: str, timeout: float | None) -> None:
        self._origin = origin
        self._timeout = timeout
        self._post_timeout = aiohttp.ClientTimeout(total=timeout)
        # A stream may run long; the timeout bounds connecting and each gap between chunks.
        self._stream_timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=timeout, sock_read=timeout
        )

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> HttpResponse:
        session = await _loop_session()
        try:
            async with session.post(
                url, data=body, headers=headers, timeout=self._post_timeout
            ) as resp:
                return HttpResponse(resp.status, resp.headers, await resp.read())
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise _map_error(exc, self._origin, self._timeout) from exc

    async def open_stream(self, url: str, body: bytes, headers: Mapping[str, str]) -> HttpStream:
        session = await _loop_session()
        try:
            resp = await session.post(url, data=body, headers=headers, timeout=self._stream_timeout)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise _map_error(exc, self._origin, self._timeout) from exc
        return _AiohttpStream(resp, self._origin, self._timeout)


async def http_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | AsyncIterable[bytes] | None = None,
    limit_s: float | None = None,
) -> HttpResponse:
    """One whole request on the running loop's shared session (the Files and Batch APIs,
    :mod:`fastcrew.llm.batch_api`); ``body`` may be streamed (give ``Content-Length``)."""
    session = await _loop_session()
    where = origin_of(url)
    try:
        async with session.request(
            method, url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=limit_s)
        ) as resp:
            return HttpResponse(resp.status, resp.headers, await resp.read())
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise _map_error(exc, where, limit_s) from exc


async def http_chunks(
    url: str, headers: Mapping[str, str], limit_s: float | None = None
) -> AsyncIterator[HttpResponse]:
    """A GET streamed: first an :class:`HttpResponse` with the status and headers (and the
    whole body when the status is not 2xx), then one per chunk of the body (``status`` 0)."""
    session = await _loop_session()
    where = origin_of(url)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=limit_s, sock_read=limit_s)
    try:
        async with session.get(url, headers=headers, timeout=timeout) as resp:
            if resp.status >= 300:
                yield HttpResponse(resp.status, resp.headers, await resp.read())
                return
            yield HttpResponse(resp.status, resp.headers, b"")
            async for chunk in resp.content.iter_chunked(1 << 16):
                yield HttpResponse(0, resp.headers, chunk)
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise _map_error(exc, where, limit_s) from exc


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` (for error messages: never a path or a query)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0].rpartition('@')[2]}"


# -- httpx ----------------------------------------------------------------------------------


def _httpx_errors() -> tuple[type[BaseException], ...]:
    import httpx

    return (httpx.TransportError, OSError, TimeoutError)


def _map_httpx_error(exc: BaseException, origin: str, timeout: float | None) -> LLMError:
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return _timeout_error(origin, timeout)
    return _map_error(exc, origin, timeout)


class _HttpxStream:
    __slots__ = ("_origin", "_resp", "_timeout", "headers", "status")

    def __init__(self, resp: httpx.Response, origin: str, timeout: float | None) -> None:
        self._resp = resp
        self._origin = origin
        self._timeout = timeout
        self.status = resp.status_code
        self.headers = resp.headers

    async def lines(self) -> AsyncIterator[bytes]:
        try:
            async for line in self._resp.aiter_lines():
                yield line.encode()
        except _httpx_errors() as exc:
            raise _map_httpx_error(exc, self._origin, self._timeout) from exc
        finally:
            await self._resp.aclose()

    async def read(self) -> bytes:
        try:
            return await self._resp.aread()
        except _httpx_errors() as exc:
            raise _map_httpx_error(exc, self._origin, self._timeout) from exc
        finally:
            await self._resp.aclose()

    async def aclose(self) -> None:
        await self._resp.aclose()


class HttpxTransport:
    """Sends through a user's ``httpx.AsyncClient`` (custom proxies, auth, transports)."""

    __slots__ = ("_client", "_origin", "_timeout")

    def __init__(self, client: httpx.AsyncClient, origin: str, timeout: float | None) -> None:
        self._client = client
        self._origin = origin
        self._timeout = timeout

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> HttpResponse:
        try:
            resp = await self._client.post(
                url, content=body, headers=headers, timeout=self._timeout
            )
        except _httpx_errors() as exc:
            raise _map_httpx_error(exc, self._origin, self._timeout) from exc
        return HttpResponse(resp.status_code, resp.headers, resp.content)

    async def open_stream(self, url: str, body: bytes, headers: Mapping[str, str]) -> HttpStream:
        request = self._client.build_request(
            "POST", url, content=body, headers=headers, timeout=self._timeout
        )
        try:
            resp = await self._client.send(request, stream=True)
        except _httpx_errors() as exc:
            raise _map_httpx_error(exc, self._origin, self._timeout) from exc
        return _HttpxStream(resp, self._origin, self._timeout)
