"""Serving a test's own aiohttp app (a fake provider, a recording proxy) on 127.0.0.1."""

from __future__ import annotations

from typing import Any

from aiohttp import web

__all__ = ["start_app"]


async def start_app(app: web.Application, **runner: Any) -> tuple[web.AppRunner, str]:
    """Serve ``app`` on 127.0.0.1 at a free port: its runner (``await runner.cleanup()``
    stops it) and its origin, ``http://127.0.0.1:PORT``."""
    app_runner = web.AppRunner(app, **runner)
    await app_runner.setup()
    site = web.TCPSite(app_runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return app_runner, f"http://127.0.0.1:{port}"
