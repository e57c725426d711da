"""The API key store on a real SQLite file, and the `ragwright keys` commands."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragwright.errors import UserError
from ragwright.interfaces.cli.keys import keys_app
from ragwright.service.keys import ApiKey, KeyStore


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    s = KeyStore(tmp_path / "keys.sqlite")
    yield s
    s.close()


def test_create_verify_revoke(store: KeyStore) -> None:
    raw, key = store.create("acme", scopes=("read", "write"), tags=("b", "a", "a"), name="ci")
    assert raw.startswith("rw_") and key.key_id in raw
    assert key.tags == ("a", "b") and key.scopes == frozenset({"read", "write"}) and key.name == "ci"
    assert store.verify(raw) == key
    assert store.revoke(key.key_id) is True
    assert store.revoke(key.key_id) is False
    assert store.verify(raw) is None
    assert store.list("acme")[0].revoked is True


def test_verify_rejects_wrong_secret_and_garbage(store: KeyStore) -> None:
    raw, key = store.create("acme")
    tampered = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    for bad in (tampered, "", "rw_", "Bearer x", raw + "x", f"rw_{key.key_id}_" + "x" * 43, "rw_zzzz_abc"):
        assert store.verify(bad) is None, bad


def test_only_the_hash_is_stored(store: KeyStore, tmp_path: Path) -> None:
    raw, key = store.create("acme")
    store.close()
    dump = "\n".join(str(r) for r in sqlite3.connect(tmp_path / "keys.sqlite").execute("SELECT * FROM api_keys"))
    secret = raw.split("_", 2)[2]
    assert secret not in dump and raw not in dump
    assert hashlib.sha256(raw.encode()).hexdigest() in dump
    reopened = KeyStore(tmp_path / "keys.sqlite")
    assert reopened.verify(raw) == key
    reopened.close()


def test_scopes_imply_weaker_ones() -> None:
    def k(*scopes: str) -> ApiKey:
        return ApiKey("0" * 12, "t", frozenset(scopes), (), None, 0.0, False)

    assert k("admin").allows("write") and k("admin").allows("read") and k("admin").allows("admin")
    assert k("write").allows("read") and not k("write").allows("admin")
    assert not k("read").allows("write") and not k("read").allows("bogus")


@pytest.mark.parametrize("tenant", ["", "a.b", "a b", "x" * 65, "ü"])
def test_invalid_tenant_is_a_user_error(store: KeyStore, tenant: str) -> None:
    with pytest.raises(UserError):
        store.create(tenant)


def test_invalid_scopes_are_user_errors(store: KeyStore) -> None:
    with pytest.raises(UserError):
        store.create("acme", scopes=("read", "root"))
    with pytest.raises(UserError):
        store.create("acme", scopes=())


def test_list_filters_by_tenant(store: KeyStore) -> None:
    store.create("a")
    store.create("b")
    store.create("a", scopes=("admin",))
    assert [k.tenant for k in store.list()] == ["a", "b", "a"]
    assert len(store.list("a")) == 2 and store.list("nobody") == []


def test_cli_create_list_revoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "idx")]
    out = runner.invoke(
        keys_app,
        ["create", "--tenant", "acme", "--scopes", "read,write", "--tags", "x,y", "--name", "bot", "--json", *data],
    )
    assert out.exit_code == 0, out.output
    created = json.loads(out.stdout)
    assert created["key"].startswith("rw_") and created["scopes"] == ["read", "write"] and created["tags"] == ["x", "y"]
    listed = json.loads(runner.invoke(keys_app, ["list", "--json", *data]).stdout)
    assert [k["key_id"] for k in listed] == [created["key_id"]] and "key" not in listed[0]
    assert runner.invoke(keys_app, ["revoke", created["key_id"], *data]).exit_code == 0
    assert json.loads(runner.invoke(keys_app, ["list", "--json", *data]).stdout)[0]["revoked"] is True
    assert runner.invoke(keys_app, ["revoke", "nope", *data]).exit_code == 2
    with KeyStore(tmp_path / "idx" / "keys.sqlite") as s:
        assert s.verify(created["key"]) is None
