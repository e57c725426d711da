"""Keys managed by an admin key (the Operations pages of the web UI): list, create and revoke within its reach.

``ragwright keys`` on the server's machine manages every tenant's keys. An admin *key* manages fewer: the keys of its
own tenant that its tags cover (:meth:`~ragwright.service.access.TagScope.covers`, the job rule), so a tag-limited
admin can neither see nor revoke an unrestricted key, and every key it creates is limited to tags of its own (a key
without tags would read more than its maker). A key out of reach reads as missing (:class:`KeyNotFound`), like one
that does not exist. Scopes are not narrowed: an admin key holds every scope and grant already.

Example::

    raw, key = create_key(store, admin, scopes=("read",), tags=("public",), name="support")
    [k.key_id for k in manageable_keys(store, admin)]      # includes key.key_id
    revoke_key(store, admin, key.key_id)                   # True; then announce it (KeyVersions.bump) with Redis
"""

from __future__ import annotations

from collections.abc import Iterable

from ragwright.errors import AccessDenied, KeyNotFound, UserError
from ragwright.redact import quote_id
from ragwright.service.access import TagScope
from ragwright.service.keys import ApiKey, KeyStore

__all__ = ["MAX_NAME", "create_key", "manageable_keys", "revoke_key"]

MAX_NAME = 100
"""The longest key name (a label shown in lists)."""


def _check_admin(admin: ApiKey) -> None:
    if not admin.allows("admin") or admin.revoked:
        raise AccessDenied("managing keys needs an admin key")


def _reaches(admin: ApiKey, key: ApiKey) -> bool:
    return key.tenant == admin.tenant and admin.scope.covers(TagScope(key.tags))


def manageable_keys(store: KeyStore, admin: ApiKey) -> list[ApiKey]:
    """The keys ``admin`` may see and revoke (revoked ones included), oldest first."""
    _check_admin(admin)
    return [k for k in store.list(admin.tenant) if _reaches(admin, k)]


def create_key(
    store: KeyStore, admin: ApiKey, *, scopes: Iterable[str], tags: Iterable[str] = (), name: str | None = None
) -> tuple[str, ApiKey]:
    """A new key of ``admin``'s tenant; returns ``(raw_key, key)`` (the raw key is shown once). A tag-limited admin
    must give tags, all of them its own (:class:`AccessDenied` otherwise); bad scopes or tags are a
    :class:`UserError`."""
    _check_admin(admin)
    wanted = [t.strip() for t in tags if t.strip()]
    if admin.scope.limited:
        if not wanted:
            raise AccessDenied(f"this key may only create keys limited to its tags ({', '.join(admin.tags)})")
        outside = sorted(set(wanted) - set(admin.tags))
        if outside:
            raise AccessDenied(f"tags {', '.join(outside)} are outside this key's ({', '.join(admin.tags)})")
    label = (name or "").strip() or None
    if label is not None and (len(label) > MAX_NAME or not label.isprintable()):
        raise UserError(f"a key name is 1-{MAX_NAME} printable characters")
    return store.create(admin.tenant, scopes=scopes, tags=wanted, name=label)


def revoke_key(store: KeyStore, admin: ApiKey, key_id: str) -> bool:
    """Revoke a key ``admin`` may manage; True if it was active, False if already revoked. Other keys (another
    tenant's, outside its tags, unknown) are :class:`KeyNotFound`. With Redis, announce the revocation afterwards
    (:meth:`~ragwright.sharedstate.revocation.KeyVersions.bump`) so every replica honours it at once."""
    _check_admin(admin)
    key = store.get(key_id) if isinstance(key_id, str) and len(key_id) <= 64 else None
    if key is None or not _reaches(admin, key):
        raise KeyNotFound(f"no key {quote_id(key_id)}")
    return store.revoke(key.key_id)
