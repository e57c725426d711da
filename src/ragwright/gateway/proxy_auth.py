"""Who is calling the proxy: bearer keys checked against a blocking verifier (the API key store), cached briefly."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable

from ragwright.gateway.proxy_wire import InvalidRequest
from ragwright.gateway.types import RequestContext
from ragwright.service.keys import TENANT_RE

__all__ = ["Authenticator", "cached_authenticator", "tenant_from_header"]

Authenticator = Callable[[str], Awaitable[RequestContext | None]]
"""Raw bearer key -> who is calling (tenant, key id), or None if the key is not valid."""


def cached_authenticator(
    verify: Callable[[str], tuple[str, str] | None], *, ttl: float = 30.0, max_entries: int = 10_000
) -> Authenticator:
    """Wrap a blocking ``verify(raw_key) -> (tenant, key_id) | None`` (e.g. the API key store) so that only the
    first request with a key in each ``ttl`` seconds pays for it, in a worker thread; a revoked key stops working
    within ``ttl``."""
    cache: dict[str, tuple[float, RequestContext | None]] = {}

    async def authenticate(raw: str) -> RequestContext | None:
        digest = hashlib.sha256(raw.encode()).hexdigest()
        now = time.monotonic()
        hit = cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = await asyncio.to_thread(verify, raw)
        ctx = RequestContext(tenant=found[0], key_id=found[1]) if found else None
        if len(cache) >= max_entries:
            cache.clear()
        cache[digest] = (now + ttl, ctx)
        return ctx

    return authenticate


def tenant_from_header(raw: bytes) -> str:
    """The ``X-Ragwright-Tenant`` value (``--no-auth`` only), if it is a tenant name as API keys have them (1-64 of
    A-Z a-z 0-9 _ -): it reaches budget and rate-limit accounts and the ledger. :class:`InvalidRequest` (400)
    otherwise, without echoing it (it may be 5,000 characters of anything)."""
    tenant = raw.decode("latin-1")
    if not TENANT_RE.match(tenant):
        raise InvalidRequest("X-Ragwright-Tenant must be 1-64 characters from A-Z a-z 0-9 _ -")
    return tenant
