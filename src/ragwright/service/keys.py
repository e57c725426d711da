"""API keys: each one names a tenant, a set of scopes and (optionally) the tags it may read.

Keys live in a SQLite file (default ``<data_dir>/keys.sqlite``), or in PostgreSQL when the store is PostgreSQL
(:mod:`ragwright.service.postgres_keys`; :func:`open_key_store` chooses), and are stored **hashed**. A raw key looks
like ``rw_<key_id>_<secret>``: ``key_id`` is 12 public hex characters used to find the row, ``secret`` is 32 random
bytes (``secrets.token_urlsafe``). Only ``sha256(raw_key)`` is written. A plain, unsalted SHA-256 is enough here because
the input is 256 bits of randomness: there is nothing to brute-force or look up in a table, so a slow password hash
(bcrypt, argon2) would only add latency to every request without adding safety. The hash is compared with
:func:`hmac.compare_digest` so timing does not leak how much of a guess matched.

Scopes: ``admin`` implies ``write`` implies ``read``.

``KeyStore(path, cache_seconds=1.0)`` (what the HTTP service uses) remembers a key it verified for that long, so a
busy server does not query SQLite on every request: a revocation through the same store takes effect at once, one
made elsewhere (``ragwright keys revoke`` in another process) within ``cache_seconds``. The default, 0, checks the
file on every call.

Example::

    store = KeyStore(tmp_path / "keys.sqlite")
    raw, key = store.create("acme", scopes=("read", "write"), tags=("public",), name="ci")
    assert store.verify(raw) == key and key.allows("read") and not key.allows("admin")
    store.revoke(key.key_id)
    assert store.verify(raw) is None
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ragwright.config import Settings
from ragwright.errors import ConfigError, UserError
from ragwright.gateway.types import RequestContext
from ragwright.redact import quote_id
from ragwright.service.access import TagScope
from ragwright.service.sqlite_file import open_service_db
from ragwright.sqlite_migrations import Schema, execute_script

SCOPES = ("read", "write", "admin")
_RANK = {s: i for i, s in enumerate(SCOPES)}
GRANTS = ("approve",)
"""Scopes outside the read < write < admin ladder, each given on its own (admin holds them all): ``approve`` lets a
key approve or deny an agent's paused tool calls."""
KEY_PREFIX = "rw_"
# Tenants become store tenant ids and knowledge bases are appended as ".<kb>", so a tenant name has no dot.
TENANT_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_KEY_RE = re.compile(r"^rw_([0-9a-f]{12})_([A-Za-z0-9_-]{20,64})$")
_DUMMY_HASH = hashlib.sha256(b"ragwright-dummy-key").hexdigest()
VERIFIED_KEY_SECONDS = 1.0
"""How long a server (``serve``, stdio ``mcp``) trusts a key it verified before reading the key file again: a
revocation made by another process (``ragwright keys revoke``) reaches it within this."""
MULTIPLE_AUTHORIZATION = "more than one Authorization header"
"""Why a request with two ``Authorization`` headers is refused (400) by ``serve`` and ``mcp --http``: proxies in front
may read the first or the last, so ragwright reads neither."""


@dataclass(frozen=True)
class ApiKey:
    """A stored key's public facts (never the secret).

    Example::

        ApiKey("a1b2c3d4e5f6", "acme", frozenset({"write"}), (), None, 0.0, False).allows("read")  # True
    """

    key_id: str
    tenant: str
    scopes: frozenset[str]
    tags: tuple[str, ...]
    name: str | None
    created_at: float
    revoked: bool

    def allows(self, scope: str) -> bool:
        """True when one of this key's scopes is ``scope`` or stronger (admin > write > read)."""
        if scope in GRANTS:
            return scope in self.scopes or "admin" in self.scopes
        need = _RANK.get(scope)
        if need is None:
            return False
        return any(_RANK.get(s, -1) >= need for s in self.scopes)

    @property
    def scope(self) -> TagScope:
        """What this key may read and write by tags (one rule for every front door: ``service.access``)."""
        return TagScope(self.tags)

    def caller(self, kb: str | None = None, *, request_id: str | None = None) -> RequestContext:
        """Who is asking, as the gateway sees it: this key's tenant (never a store tenant such as ``acme.handbook``:
        budgets and limits are per tenant), its id and tags, the knowledge base answered from and the request id."""
        return RequestContext(tenant=self.tenant, key_id=self.key_id, tags=self.tags, kb=kb, request_id=request_id)

    def to_dict(self) -> dict[str, object]:
        return {
            "key_id": self.key_id,
            "tenant": self.tenant,
            "scopes": sorted(self.scopes, key=lambda s: _RANK.get(s, len(_RANK))),
            "tags": list(self.tags),
            "name": self.name,
            "created_at": self.created_at,
            "revoked": self.revoked,
        }


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def check_tenant_name(tenant: str) -> str:
    if not isinstance(tenant, str) or not TENANT_RE.match(tenant):
        raise UserError(f"invalid tenant {quote_id(tenant)}: use 1-64 characters from A-Z a-z 0-9 _ -")
    return tenant


def _clean_scopes(scopes: Iterable[str]) -> frozenset[str]:
    out = frozenset(s.strip() for s in scopes if s.strip())
    bad = sorted(out - set(SCOPES) - set(GRANTS))
    if bad:
        raise UserError(f"unknown scope(s) {', '.join(bad)}: use read, write, admin, approve")
    if not out:
        raise UserError("a key needs at least one scope (read, write, admin, approve)")
    return out


def _clean_tags(tags: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for t in tags:
        t = t.strip()
        if not t or len(t) > 128:
            raise UserError(f"invalid tag {quote_id(t)}: 1-128 characters")
        if t not in out:
            out.append(t)
    return tuple(sorted(out))


SCHEMA = Schema("keys")


@SCHEMA.migration
def m001_api_keys(db: sqlite3.Connection) -> None:
    execute_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS api_keys (
            key_id TEXT PRIMARY KEY,
            key_hash TEXT NOT NULL,
            tenant TEXT NOT NULL,
            scopes TEXT NOT NULL,
            tags TEXT NOT NULL,
            name TEXT,
            created_at REAL NOT NULL,
            revoked_at REAL
        );
        CREATE INDEX IF NOT EXISTS api_keys_tenant ON api_keys(tenant);
        """,
    )


KeyRow = tuple[str, str, str, str, str, str | None, float, float | None]
"""One stored key: key_id, sha256 of the raw key, tenant, scopes (JSON list), tags (JSON list), name, created_at,
revoked_at (None while active). The same columns in every backend, so ``ragwright migrate`` copies them as they are."""


class KeyTable(Protocol):
    """Where API key rows live (one implementation per backend); :class:`KeyStore` holds the logic over it."""

    where: str
    """The file or server, for messages (never a password)."""

    def insert(self, row: KeyRow) -> None: ...

    def find(self, key_id: str) -> KeyRow | None: ...

    def rows(self, tenant: str | None) -> list[KeyRow]:
        """Every row, or the tenant's, ordered by ``created_at, key_id``."""
        ...

    def revoke(self, key_id: str, at: float) -> bool:
        """Set ``revoked_at`` of an active key; True if there was one."""
        ...

    def close(self) -> None: ...


class SQLiteKeyTable:
    """API key rows in one SQLite file (``keys.sqlite``). Safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self._lock = threading.Lock()
        self._db = open_service_db(self.path, SCHEMA)

    def insert(self, row: KeyRow) -> None:
        with self._lock:
            self._db.execute("INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)

    def find(self, key_id: str) -> KeyRow | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM api_keys WHERE key_id = ?", (key_id,)).fetchone()
        return None if row is None else tuple(row)

    def rows(self, tenant: str | None) -> list[KeyRow]:
        with self._lock:
            if tenant is None:
                rows = self._db.execute("SELECT * FROM api_keys ORDER BY created_at, key_id").fetchall()
            else:
                rows = self._db.execute(
                    "SELECT * FROM api_keys WHERE tenant = ? ORDER BY created_at, key_id", (tenant,)
                ).fetchall()
        return [tuple(r) for r in rows]

    def revoke(self, key_id: str, at: float) -> bool:
        with self._lock:
            cur = self._db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL", (at, key_id)
            )
        return cur.rowcount > 0

    def close(self) -> None:
        with self._lock:
            self._db.close()


_CACHE_MAX = 4096


class KeyStore:
    """Create, verify, list and revoke API keys, over a :class:`KeyTable` (a path means a SQLite file). Safe to share
    between threads."""

    def __init__(
        self,
        table: Path | KeyTable,
        *,
        cache_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._table: KeyTable = SQLiteKeyTable(table) if isinstance(table, Path | str) else table
        self.where = self._table.where
        self.cache_seconds = cache_seconds
        self._clock = clock  # for the verified-key cache's expiry (tests pass a manual clock)
        self._lock = threading.Lock()
        # sha256(raw key) -> (key, monotonic time it was verified); only keys that verified. The digest of the whole
        # raw key is the lookup, so a hit means the same raw key; nothing about a secret leaks through its timing.
        self._verified: dict[str, tuple[ApiKey, float]] = {}

    def create(
        self, tenant: str, scopes: Iterable[str] = ("read",), tags: Iterable[str] = (), name: str | None = None
    ) -> tuple[str, ApiKey]:
        """Make a key; return ``(raw_key, key)``. The raw key is shown once and cannot be recovered."""
        check_tenant_name(tenant)
        key = ApiKey(
            key_id=secrets.token_hex(6),
            tenant=tenant,
            scopes=_clean_scopes(scopes),
            tags=_clean_tags(tags),
            name=name or None,
            created_at=time.time(),
            revoked=False,
        )
        raw = f"{KEY_PREFIX}{key.key_id}_{secrets.token_urlsafe(32)}"
        self._table.insert(
            (
                key.key_id,
                hash_key(raw),
                key.tenant,
                json.dumps(sorted(key.scopes)),
                json.dumps(list(key.tags)),
                key.name,
                key.created_at,
                None,
            )
        )
        return raw, key

    def verify(self, raw_key: str) -> ApiKey | None:
        """The key behind ``raw_key``, or None when it is malformed, unknown or revoked."""
        given = hash_key(raw_key) if isinstance(raw_key, str) else ""
        if self.cache_seconds > 0:
            cached = self._verified.get(given)
            if cached is not None and self._clock() - cached[1] < self.cache_seconds:
                return cached[0]
        m = _KEY_RE.match(raw_key) if isinstance(raw_key, str) else None
        row = self._table.find(m.group(1)) if m else None
        stored = row[1] if row else _DUMMY_HASH
        ok = hmac.compare_digest(stored.encode(), given.encode())
        if not ok or row is None:
            return None
        key = self._row(row)
        if key.revoked:
            return None
        if self.cache_seconds > 0:
            with self._lock:
                if len(self._verified) >= _CACHE_MAX:
                    self._verified.clear()
                self._verified[given] = (key, self._clock())
        return key

    def forget_verified(self) -> None:
        """Drop every key remembered by :meth:`verify`: the next verification of each reads the store (a revocation
        announced through Redis, :mod:`ragwright.sharedstate.revocation`)."""
        with self._lock:
            self._verified = {}

    def get(self, key_id: str) -> ApiKey | None:
        row = self._table.find(key_id)
        return self._row(row) if row else None

    def list(self, tenant: str | None = None) -> list[ApiKey]:
        """Every key (revoked ones included), oldest first, optionally of one tenant."""
        return [self._row(r) for r in self._table.rows(tenant)]

    def revoke(self, key_id: str) -> bool:
        """Revoke a key; True if it existed and was active."""
        revoked = self._table.revoke(key_id, time.time())
        with self._lock:
            self._verified = {d: v for d, v in self._verified.items() if v[0].key_id != key_id}
        return revoked

    def close(self) -> None:
        self._table.close()

    def __enter__(self) -> KeyStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _row(row: KeyRow) -> ApiKey:
        key_id, _hash, tenant, scopes, tags, name, created_at, revoked_at = row
        return ApiKey(
            key_id=str(key_id),
            tenant=str(tenant),
            scopes=frozenset(json.loads(str(scopes))),
            tags=tuple(json.loads(str(tags))),
            name=None if name is None else str(name),
            created_at=float(created_at),
            revoked=revoked_at is not None,
        )


def default_key_path(data_dir: Path) -> Path:
    return Path(data_dir) / "keys.sqlite"


def key_path(settings: Settings) -> Path:
    """Where ``settings`` keeps its keys: ``service.keys_file`` or ``<data_dir>/keys.sqlite``."""
    return settings.service.keys_file or default_key_path(settings.data_dir)


def open_key_store(settings: Settings, *, cache_seconds: float = 0.0) -> KeyStore:
    """The key store ``settings`` name: PostgreSQL's ``api_keys`` table when the store is PostgreSQL, else the SQLite
    file :func:`key_path` names. ``service.keys_file`` with a PostgreSQL store is refused rather than ignored."""
    if not settings.uses_postgres:
        return KeyStore(key_path(settings), cache_seconds=cache_seconds)
    if settings.service.keys_file is not None:
        raise ConfigError(
            "service.keys_file names a SQLite key file, but with store = postgresql the keys live in PostgreSQL: "
            "remove keys_file (`ragwright migrate` copies the file's keys)"
        )
    from ragwright.service.postgres_keys import PostgresKeyTable

    return KeyStore(PostgresKeyTable(settings.store_dsn()), cache_seconds=cache_seconds)
