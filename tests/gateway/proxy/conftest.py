"""A real uvicorn server on 127.0.0.1:0, in its own thread, for the official OpenAI client to talk to."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from ragwright.gateway.proxy import ProxyApp
from ragwright.testing import ScriptedGateway


class LiveServer:
    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60  # a bound for a start-up that takes well under a second when idle
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    @property
    def base_url(self) -> str:
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def serve_proxy() -> Iterator[Any]:
    """``serve_proxy(ProxyApp(...))`` starts it and returns the base URL; stopped after the test."""
    servers: list[LiveServer] = []

    def start(proxy: ProxyApp) -> str:
        live = LiveServer(proxy.asgi()).__enter__()
        servers.append(live)
        return live.base_url

    yield start
    for live in servers:
        live.__exit__()


@pytest.fixture
def stub() -> type[ScriptedGateway]:
    return ScriptedGateway
