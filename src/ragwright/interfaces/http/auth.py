"""Who is calling: the API key in ``Authorization: Bearer <key>`` resolves to a tenant, scopes and allowed tags.

Every route that touches documents depends on :func:`require` with the scope it needs; the dependency also applies
the per-key rate limit. Missing or unknown keys get 401, a key without the scope 403, an exhausted limit 429, and a
request with two ``Authorization`` headers 400 (a proxy in front may have read the other one).

Tag-limited keys: :meth:`Principal.filters` narrows whatever filters the client asked for to the key's tags. The
store's tag filter matches documents carrying ANY of the listed tags, so the effective tags are the intersection of
the request's tags with the key's; an empty intersection means "nothing", never "no restriction".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ragwright.gateway.types import RequestContext
from ragwright.interfaces.http.errors import ApiError
from ragwright.interfaces.http.state import ServiceState
from ragwright.observability.requests import current_request_id, identify
from ragwright.observability.tracing import annotate_caller, stage
from ragwright.service.kbs import check_kb_name, store_tenant
from ragwright.service.keys import MULTIPLE_AUTHORIZATION, ApiKey
from ragwright.store.base import DocumentInfo, Filters

bearer = HTTPBearer(auto_error=False, description="An API key from `ragwright keys create`.")


@dataclass(frozen=True)
class Principal:
    """The verified caller of one request.

    Example::

        p = Principal(key)                      # key.tags == ("public",)
        p.filters(Filters(tags=("public", "hr")))   # Filters(tags=("public",))
        p.filters(Filters(tags=("hr",)))            # False: nothing is visible
    """

    key: ApiKey

    @property
    def tenant(self) -> str:
        return self.key.tenant

    def store_tenant(self, kb: str) -> str:
        try:
            return store_tenant(self.tenant, check_kb_name(kb))
        except Exception as exc:
            raise ApiError(400, "bad_request", str(exc)) from None

    def caller(self, kb: str | None = None) -> RequestContext:
        """Who is asking (tenant, key, ``kb``) with this request's id: the context of its model calls."""
        return self.key.caller(kb, request_id=current_request_id())

    def filters(self, requested: Filters | None) -> Filters | None | Literal[False]:
        """Filters to pass to the store (None: unrestricted); ``False`` when the key may see nothing asked for."""
        return self.key.scope.narrow(requested)

    def may_see(self, doc: DocumentInfo) -> bool:
        return self.key.scope.sees(doc.tags)


def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    return state


def require(scope: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that authenticates the request and checks ``scope`` (read, write, admin or approve)."""

    async def dependency(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
        with stage("authenticate"):
            return await _authenticate(request, creds, scope)

    return dependency


async def _authenticate(request: Request, creds: HTTPAuthorizationCredentials | None, scope: str) -> Principal:
    state = get_state(request)
    if len(request.headers.getlist("authorization")) > 1:
        raise ApiError(400, "bad_request", MULTIPLE_AUTHORIZATION)
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise ApiError(
            401,
            "unauthorized",
            "missing API key: send Authorization: Bearer <key>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    key = await state.verify_key(creds.credentials)  # with [redis]: revocations from any replica first
    if key is None:
        raise ApiError(401, "unauthorized", "invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"})
    identify(key.tenant, key.key_id)  # for the log lines of this request
    try:
        await state.limiter.check(key.key_id)
    except ApiError:
        state.metrics.rate_limited.inc()
        raise
    annotate_caller(key.tenant, key.key_id)
    if not key.allows(scope):
        raise ApiError(403, "forbidden", f"this key lacks the {scope!r} scope")
    return Principal(key)


require_read = require("read")
require_write = require("write")
require_approve = require("approve")
