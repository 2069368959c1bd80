"""A simulator process and a local HTTP server (a web page and a fake Serper endpoint) shared
by the module; CrewAI's URL and path sandbox opened for them (they are on loopback and in
temporary directories)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from fastcrew.sim import SpawnedSim, spawn

from .crews import FACT

PAGE = f"<html><head><title>Tides</title></head><body><p>{FACT}</p></body></html>"


class FakeWeb:
    """What the local server was asked: Serper requests (headers and bodies)."""

    def __init__(self) -> None:
        self.searches: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.url = ""


@pytest.fixture(scope="module")
def web() -> Iterator[FakeWeb]:
    state = FakeWeb()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/page":
                self._send(200, PAGE.encode(), "text/html; charset=utf-8")
            else:
                self._send(404, b"not found", "text/plain")

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                state.searches.append((dict(self.headers), body))
            result = {
                "searchParameters": {"q": body.get("q"), "type": "search"},
                "organic": [
                    {"title": "Tide tables", "link": "https://example.org/tides",
                     "snippet": FACT, "position": 1},
                ],
            }  # fmt: skip
            self._send(200, json.dumps(result).encode(), "application/json")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def spawned() -> Iterator[SpawnedSim]:
    with spawn(tool_rounds=1, parallel_calls=1) as server:
        yield server


@pytest.fixture(autouse=True)
def sandbox_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """crewai_tools refuses loopback URLs and paths outside the working directory unless
    this is set (its documented escape hatch); the tests' targets are exactly those."""
    monkeypatch.setenv("CREWAI_TOOLS_ALLOW_UNSAFE_PATHS", "true")
    monkeypatch.setenv("SERPER_API_KEY", "serper-test-key-not-real")
