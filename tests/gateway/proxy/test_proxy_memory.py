"""The proxy's request path does not keep memory per request (a common gateway complaint): 10,000 calls through the
ASGI app, its request checks, a model and the usage ledger, measured with tracemalloc."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson

from ragwright.gateway.base import as_stream
from ragwright.gateway.ledger import UsageLedger
from ragwright.gateway.proxy import ProxyApp
from ragwright.gateway.types import ChatRequest, ChatResponse, Chunk, Message, Usage


class Constant:
    """A model that keeps nothing (FakeChatModel records every request, which is what this test must not see)."""

    name = "fake:constant"

    async def chat(self, request: ChatRequest) -> ChatResponse:
        return ChatResponse(
            model=self.name, message=Message("assistant", "Paris."), usage=Usage(12, 0, 2, 0), cost_usd=0.0
        )

    def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        return as_stream(ChatResponse(model=self.name, message=Message("assistant", "Paris."), usage=Usage(1, 0, 1, 0)))


class Gateway:
    def model(self, name: str) -> Any:
        return Constant()

    def models(self) -> list[str]:
        return ["default"]


async def test_ten_thousand_calls_keep_no_memory(tmp_path: Path) -> None:
    ledger = UsageLedger(tmp_path / "usage.sqlite", flush_ms=20)
    app = ProxyApp(Gateway(), ledger=ledger)
    bodies = [
        orjson.dumps(
            {
                "model": "default",
                "messages": [{"role": "user", "content": f"question {i}"}],
                "stream": i % 10 == 0,
                "stream_options": {"include_usage": True},
            }
        )
        for i in range(100)
    ]
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/chat/completions",
        "headers": [(b"x-ragwright-tenant", b"t1")],
    }
    statuses: list[int] = []

    async def calls(n: int) -> None:
        for i in range(n):
            body = bodies[i % 100]

            sent_body = [False]

            async def receive(body: bytes = body, sent_body: list[bool] = sent_body) -> dict[str, Any]:
                if not sent_body[0]:  # like a server: the body once, then wait until the client leaves
                    sent_body[0] = True
                    return {"type": "http.request", "body": body, "more_body": False}
                await asyncio.Event().wait()
                return {"type": "http.disconnect"}

            async def send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    statuses.append(message["status"])

            await app(scope, receive, send)
        statuses.clear()

    await calls(2_000)
    ledger.flush()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    await calls(10_000)
    ledger.flush()
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    growth = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert growth < 256 * 1024, f"{growth} bytes kept over 10,000 calls"
    ledger.close()
    assert ledger.stats.written == 12_000 and ledger.stats.dropped == 0
