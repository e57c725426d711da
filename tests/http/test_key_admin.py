"""Keys managed by an admin key (service.key_admin) on a real SQLite key file: tenant and tag reach, shown-once keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ragwright.errors import AccessDenied, KeyNotFound, UserError
from ragwright.service.key_admin import create_key, manageable_keys, revoke_key
from ragwright.service.keys import ApiKey, KeyStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[KeyStore]:
    with KeyStore(tmp_path / "keys.sqlite") as s:
        yield s


def _key(store: KeyStore, tenant: str, *scopes: str, tags: tuple[str, ...] = ()) -> ApiKey:
    return store.create(tenant, scopes=scopes, tags=tags)[1]


def test_an_admin_creates_a_key_of_its_tenant_that_works_once_shown(store: KeyStore) -> None:
    admin = _key(store, "acme", "admin")
    raw, key = create_key(store, admin, scopes=("read", "approve"), tags=(" public ",), name=" support ")
    assert key.tenant == "acme" and key.scopes == {"read", "approve"} and key.tags == ("public",)
    assert key.name == "support" and store.verify(raw) == key
    assert raw not in repr(key) and raw not in str(key.to_dict())  # only the raw key carries the secret


def test_admin_sees_and_revokes_only_its_tenants_keys(store: KeyStore) -> None:
    admin = _key(store, "acme", "admin")
    mine = _key(store, "acme", "read")
    theirs = _key(store, "other", "read")
    assert [k.key_id for k in manageable_keys(store, admin)] == [admin.key_id, mine.key_id]
    with pytest.raises(KeyNotFound):
        revoke_key(store, admin, theirs.key_id)
    with pytest.raises(KeyNotFound):
        revoke_key(store, admin, "0" * 12)
    assert store.get(theirs.key_id) is not None and not store.get(theirs.key_id).revoked  # type: ignore[union-attr]
    assert revoke_key(store, admin, mine.key_id) is True
    assert revoke_key(store, admin, mine.key_id) is False
    assert [k.revoked for k in manageable_keys(store, admin)] == [False, True]


def test_a_tag_limited_admin_reaches_only_keys_within_its_tags(store: KeyStore) -> None:
    admin = _key(store, "acme", "admin", tags=("public", "hr"))
    open_key = _key(store, "acme", "read")
    hr = _key(store, "acme", "read", tags=("hr",))
    internal = _key(store, "acme", "read", tags=("hr", "internal"))
    assert {k.key_id for k in manageable_keys(store, admin)} == {admin.key_id, hr.key_id}
    for out_of_reach in (open_key, internal):
        with pytest.raises(KeyNotFound):
            revoke_key(store, admin, out_of_reach.key_id)
    with pytest.raises(AccessDenied):
        create_key(store, admin, scopes=("read",))  # no tags: would read more than its maker
    with pytest.raises(AccessDenied):
        create_key(store, admin, scopes=("read",), tags=("hr", "internal"))
    _, made = create_key(store, admin, scopes=("write",), tags=("hr",))
    assert made.tags == ("hr",)


def test_only_admin_keys_manage_keys_and_bad_input_is_a_user_error(store: KeyStore) -> None:
    writer = _key(store, "acme", "write", "approve")
    for call in (
        lambda: manageable_keys(store, writer),
        lambda: create_key(store, writer, scopes=("read",)),
        lambda: revoke_key(store, writer, writer.key_id),
    ):
        with pytest.raises(AccessDenied):
            call()
    admin = _key(store, "acme", "admin")
    for bad in (
        {"scopes": ()},
        {"scopes": ("root",)},
        {"scopes": ("read",), "tags": ("x" * 200,)},
        {"scopes": ("read",), "name": "n" * 101},
        {"scopes": ("read",), "name": "a\nb"},
    ):
        with pytest.raises(UserError):
            create_key(store, admin, **bad)  # type: ignore[arg-type]
