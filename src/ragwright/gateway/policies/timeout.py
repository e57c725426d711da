"""Timeout: deadlines for one call to one model.

- ``chat``: the whole reply within ``total`` seconds, else :class:`~ragwright.errors.ProviderTimeout` (phase 'total').
- ``stream``: the first chunk within ``min(first_token, total)`` (phase 'first_token'), the whole stream within
  ``total``. A deadline that passes after the first chunk raises :class:`~ragwright.errors.StreamInterrupted` whose
  ``cause`` is the ``ProviderTimeout`` (the caller already has content).
- ``connect`` is enforced by the provider's HTTP client; it is accepted here so the policy takes the whole
  ``[gateway.timeout]`` section.

Example::

    model = Timeout(provider, connect=5, first_token=10, total=60)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from ragwright.errors import GatewayError, ProviderTimeout, StreamInterrupted
from ragwright.gateway.base import ChatModel, WrapperModel
from ragwright.gateway.policies._shared import aclose
from ragwright.gateway.types import ChatRequest, ChatResponse, Chunk


class Timeout(WrapperModel):
    """Connect, first-token and total deadlines for a call; a missed one raises ProviderTimeout."""

    def __init__(
        self, inner: ChatModel, *, connect: float = 5.0, first_token: float = 30.0, total: float = 120.0
    ) -> None:
        super().__init__(inner)
        self.connect = connect
        self.first_token = first_token
        self.total = total

    async def chat(self, request: ChatRequest) -> ChatResponse:
        try:
            async with asyncio.timeout(self.total):
                return await self.inner.chat(request)
        except TimeoutError:
            raise ProviderTimeout("total", self.total, provider=self.name) from None

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.total
        first_deadline = min(loop.time() + self.first_token, deadline)
        stream = self.inner.stream(request)
        try:
            try:
                async with asyncio.timeout_at(first_deadline):
                    first = await anext(stream)
            except StopAsyncIteration:
                return
            except TimeoutError:
                phase, limit = ("first_token", self.first_token) if first_deadline < deadline else ("total", self.total)
                raise ProviderTimeout(phase, limit, provider=self.name) from None
            yield first
            while True:
                try:
                    async with asyncio.timeout_at(deadline):
                        chunk = await anext(stream)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    cause = ProviderTimeout("total", self.total, provider=self.name)
                    raise StreamInterrupted(str(cause), provider=self.name, cause=cause) from None
                except StreamInterrupted:
                    raise
                except GatewayError as exc:  # after content reached the caller, any failure is an interruption
                    raise StreamInterrupted(
                        f"{self.name}: stream failed after its first chunk: {exc}", provider=self.name, cause=exc
                    ) from exc
                yield chunk
        finally:
            await aclose(stream)
