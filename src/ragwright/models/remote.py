"""What the remote embedder and re-ranker share: the endpoint spec, and running a call's batches over HTTP.

A spec is ``<base URL>#<model>``: ``http://tei:8080/v1#BAAI/bge-small-en-v1.5``. The wire is the gateway's: requests
go through :class:`~ragwright.gateway.providers.common.HTTPChatModel`'s JSON POST (error statuses mapped to the
gateway's error tree, upstream text redacted, bodies capped), over a client from
:func:`~ragwright.gateway.providers.http.make_client` with the ``[gateway.timeout]`` deadlines, and every request is
repeated by the gateway's :class:`~ragwright.gateway.policies.retry.RetryPolicy` (``[gateway.retry]``: transient
failures only, jittered backoff, a retry budget). An API key is a reference (``env:VAR`` or ``file:PATH``) resolved on
first use and registered for redaction, so it never appears in a log line or an error.

The :class:`~ragwright.models.base.Embedder` and ``Reranker`` Protocols are synchronous; each call runs its batches on
the caller's own event loop, in a background thread started on first use, with one pooled HTTP client kept for the
caller's life (so connections are reused from call to call instead of a new client, and new TCP/TLS handshakes, per
call), at most ``concurrency`` requests in flight to the endpoint across all calls, and returns when all are in (or
raises :class:`~ragwright.errors.RemoteModelError` once one has failed for good, cancelling the rest).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ragwright.config import RetrySettings, TimeoutSettings, resolve_secret
from ragwright.errors import ConfigError, GatewayError, RemoteModelError

if TYPE_CHECKING:
    import httpx

__all__ = ["Endpoint", "RemoteCaller", "parse_endpoint"]


@dataclass(frozen=True)
class Endpoint:
    """A remote model: its base URL (``…/v1`` for OpenAI-compatible servers) and model name."""

    base_url: str
    model: str

    @property
    def display(self) -> str:
        """The URL without any ``user:password@`` part, for names and messages."""
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        netloc = host + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def parse_endpoint(spec: str, kind: str) -> Endpoint:
    """``http(s)://host[:port]/path#model`` → :class:`Endpoint`; anything else is a ConfigError naming the form."""
    url, sep, model = spec.strip().partition("#")
    parts = urlsplit(url)
    if not sep or not model or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{kind} '{spec}' must look like {kind}:http://host:port/v1#model-name")
    return Endpoint(url.rstrip("/"), model)


class RemoteCaller:
    """POSTs JSON to one endpoint in batches: bounded concurrency, the gateway's retry policy, a secret key."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        provider: str,
        api_key: str | None = None,
        concurrency: int = 4,
        retry: RetrySettings | None = None,
        timeout: TimeoutSettings | None = None,
    ) -> None:
        from ragwright.gateway.policies.retry import RetryPolicy

        if concurrency < 1:
            raise ConfigError(f"{provider}: concurrency must be at least 1, got {concurrency}")
        self.endpoint = endpoint
        self.provider = provider
        self.concurrency = concurrency
        self.timeout = timeout or TimeoutSettings()
        self.policy = RetryPolicy(**(retry or RetrySettings()).model_dump())
        self._api_key_ref = api_key
        self._headers: dict[str, str] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_pid = 0
        self._client: httpx.AsyncClient | None = None
        self._gate: asyncio.Semaphore | None = None
        self._lock = threading.Lock()

    def _auth_headers(self) -> dict[str, str]:
        if self._headers is None:
            key = resolve_secret(self._api_key_ref)  # registered for redaction as it is read
            self._headers = {"authorization": f"Bearer {key}"} if key else {}
        return self._headers

    def post_all(self, path: str, payloads: Sequence[dict[str, Any]]) -> list[Any]:
        """POST every payload to ``path`` (at most ``concurrency`` at once); the decoded replies, in order."""
        if not payloads:
            return []
        headers = self._auth_headers()
        future = asyncio.run_coroutine_threadsafe(self._post_all(path, payloads, headers), self._running_loop())
        try:
            return future.result()
        except BaseException:
            future.cancel()  # an interrupt here: do not leave the requests running in the background
            raise

    def close(self) -> None:
        """Close the pooled client and stop the background loop (a later call starts them again)."""
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is None or self._loop_pid != os.getpid():
            return
        asyncio.run_coroutine_threadsafe(self._close_client(), loop).result()
        loop.call_soon_threadsafe(loop.stop)

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        """The background loop, started on first use (again in a forked child: the parent's thread is not there)."""
        with self._lock:
            if self._loop is None or self._loop_pid != os.getpid():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name=f"ragwright-{self.provider}", daemon=True).start()
                self._loop, self._loop_pid, self._client, self._gate = loop, os.getpid(), None, None
            return self._loop

    async def _close_client(self) -> None:
        client, self._client, self._gate = self._client, None, None
        if client is not None:
            await client.aclose()

    async def _post_all(self, path: str, payloads: Sequence[dict[str, Any]], headers: dict[str, str]) -> list[Any]:
        from ragwright.gateway.providers.common import HTTPChatModel
        from ragwright.gateway.providers.http import make_client

        if self._client is None or self._client.is_closed:  # only this loop's thread gets here
            self._client = make_client(self.timeout, max_connections=self.concurrency)
            self._gate = asyncio.Semaphore(self.concurrency)
        client, gate = self._client, self._gate
        if gate is None:  # pragma: no cover - set together with the client above
            raise RuntimeError("remote caller without a request gate")
        wire = HTTPChatModel(
            self.endpoint.model,
            base_url=self.endpoint.base_url,
            provider_name=self.provider,
            client=client,
            prices=None,
            headers=headers,
            context_window=None,
            timeout=self.timeout,
        )

        async def one(payload: dict[str, Any]) -> Any:
            async with gate:
                return await self.policy.run(lambda: wire.post_json_value(path, payload))

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(p)) for p in payloads]
        except ExceptionGroup as failed:  # the first failure cancelled the other requests
            first = failed.exceptions[0]
            if not isinstance(first, GatewayError):
                raise first from None
            raise RemoteModelError(
                f"{self.provider} at {self.endpoint.display} failed: {first}",
                endpoint=self.endpoint.display,
                cause=first,
            ) from first
        return [t.result() for t in tasks]
