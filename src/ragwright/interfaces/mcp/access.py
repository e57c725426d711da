"""What one caller may see and do: the tenant, scopes and tags of its API key, applied to every tool call.

Over HTTP the key comes from the ``Authorization: Bearer`` header (verified with :class:`KeyStore`); over stdio there
are no headers, so the command line names a key (``--key``) or a tenant with explicit scopes (:func:`local_key`).

What a key's tags let it read and write is one rule for every front door: :class:`ragwright.service.access.TagScope`
(``key.scope``).

Knowledge bases follow the HTTP service's rule: ``default`` is the store tenant ``<tenant>``, any other is
``<tenant>.<kb>`` (tenant names have no dot, so the two never collide).

Example::

    key = local_key("acme", scopes=("read",), tags=("public",))
    store_tenant(key, "default")                      # 'acme'
    key.scope.narrow(Filters(tags=("internal",)))     # False: nothing this key may see (service.access)
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from ragwright.errors import UserError
from ragwright.service import kbs
from ragwright.service.keys import SCOPES, ApiKey, check_tenant_name

KB_PATTERN = kbs.KB_RE.pattern
DEFAULT_KB = kbs.DEFAULT_KB


def local_key(tenant: str, scopes: Iterable[str] = ("read",), tags: Iterable[str] = ()) -> ApiKey:
    """A key that exists only in this process, for stdio servers started without ``--key``."""
    clean = frozenset(s.strip() for s in scopes if s.strip())
    unknown = sorted(clean - set(SCOPES))
    if unknown or not clean:
        raise UserError(f"scopes must be some of {', '.join(SCOPES)}, not {sorted(clean)}")
    tag_tuple = tuple(sorted({t.strip() for t in tags if t.strip()}))
    return ApiKey(
        key_id="local",
        tenant=check_tenant_name(tenant),
        scopes=clean,
        tags=tag_tuple,
        name="stdio",
        created_at=time.time(),
        revoked=False,
    )


def store_tenant(key: ApiKey, kb: str = DEFAULT_KB) -> str:
    """The store tenant id a key's knowledge base lives under (the HTTP service's rule, from ``service.kbs``)."""
    return kbs.store_tenant(key.tenant, kb)
