"""What one caller may see and do: the tenant, scopes and tags of its API key, applied to every tool call.

Over HTTP the key comes from the ``Authorization: Bearer`` header (verified with :class:`KeyStore`); over stdio there
are no headers, so the command line names a key (``--key``) or a tenant with explicit scopes (:func:`local_key`).

Knowledge bases follow the HTTP service's rule: ``default`` is the store tenant ``<tenant>``, any other is
``<tenant>.<kb>`` (tenant names have no dot, so the two never collide).

Example::

    key = local_key("acme", scopes=("read",), tags=("public",))
    store_tenant(key, "default")                      # 'acme'
    visible_filters(key, Filters(tags=("internal",)))  # None: nothing this key may see
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Literal

from ragwright.errors import UserError
from ragwright.service import kbs
from ragwright.service.keys import SCOPES, ApiKey, check_tenant_name
from ragwright.store.base import Filters

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


def can_see(key: ApiKey, doc_tags: Iterable[str]) -> bool:
    """A tag-limited key sees a document only when it carries at least one of the key's tags."""
    return not key.tags or bool(set(doc_tags) & set(key.tags))


def visible_filters(key: ApiKey, requested: Filters | None) -> Filters | None | Literal[False]:
    """The store filters for a search by ``key``: the caller's own filters narrowed to the key's tags.

    Returns ``False`` when the request asks only for tags the key may not read (the answer is: nothing), ``None``
    when nothing restricts the search, else the :class:`Filters` to pass to the store query itself.
    """
    req = requested or Filters()
    tags = req.tags
    if key.tags:
        tags = tuple(t for t in req.tags if t in key.tags) if req.tags else key.tags
        if not tags:
            return False
    merged = Filters(paths=req.paths, file_types=req.file_types, tags=tags)
    return merged if merged else None
