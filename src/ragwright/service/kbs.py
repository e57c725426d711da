"""Knowledge bases: named, tenant-scoped collections of documents.

A knowledge base is a name inside one tenant. It maps onto the store's tenant id, which is what every store call is
scoped by, so two knowledge bases never share documents, BM25 statistics or vectors:

- kb ``default`` of tenant ``acme`` is store tenant ``acme`` (so `ragwright ingest --tenant acme` fills it);
- kb ``handbook`` of tenant ``acme`` is store tenant ``acme.handbook``.

Tenant and knowledge-base names use ``[A-Za-z0-9_-]`` only (no dot), so the mapping cannot collide. In the OpenAI
API a knowledge base is the model ``rag:<kb>``. The :class:`KnowledgeBases` registry remembers which ones exist per
tenant so ``GET /v1/models`` can list them.

Example::

    store_tenant("acme", "default")    # "acme"
    store_tenant("acme", "handbook")   # "acme.handbook"
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ragwright.errors import UserError
from ragwright.redact import quote_id
from ragwright.service.sqlite_file import open_service_db
from ragwright.sqlite_migrations import Schema

if TYPE_CHECKING:
    from ragwright.config import Settings

DEFAULT_KB = "default"
KB_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def check_kb_name(kb: str) -> str:
    if not isinstance(kb, str) or not KB_RE.match(kb):
        raise UserError(f"invalid knowledge base {quote_id(kb)}: use 1-64 characters from A-Z a-z 0-9 _ -")
    return kb


def store_tenant(tenant: str, kb: str = DEFAULT_KB) -> str:
    """The store tenant id holding knowledge base ``kb`` of ``tenant``."""
    check_kb_name(kb)
    return tenant if kb == DEFAULT_KB else f"{tenant}.{kb}"


SCHEMA = Schema("kbs")


@SCHEMA.migration
def m001_knowledge_bases(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS knowledge_bases (tenant TEXT NOT NULL, "
        "kb TEXT NOT NULL, created_at REAL NOT NULL, PRIMARY KEY (tenant, kb))"
    )


class KnowledgeBaseRegistry(Protocol):
    """Which knowledge bases each tenant has created (one implementation per backend; :func:`open_knowledge_bases`)."""

    def add(self, tenant: str, kb: str) -> None: ...

    def list(self, tenant: str) -> list[str]:
        """The tenant's knowledge bases, ``default`` first (it always exists)."""
        ...

    def close(self) -> None: ...


def with_default(names: list[str]) -> list[str]:
    """``default`` first (it always exists), then the others in the order given."""
    return [DEFAULT_KB, *(n for n in names if n != DEFAULT_KB)]


class KnowledgeBases:
    """Which knowledge bases each tenant has created (one SQLite table). Safe to share between threads.

    Example::

        kbs = KnowledgeBases(tmp_path / "service.sqlite")
        kbs.add("acme", "handbook")
        kbs.list("acme")   # ["default", "handbook"]
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = open_service_db(self.path, SCHEMA)

    def add(self, tenant: str, kb: str) -> None:
        check_kb_name(kb)
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO knowledge_bases VALUES (?, ?, ?)", (tenant, kb, time.time()))

    def list(self, tenant: str) -> list[str]:
        """The tenant's knowledge bases, ``default`` first (it always exists)."""
        with self._lock:
            rows = self._db.execute("SELECT kb FROM knowledge_bases WHERE tenant = ? ORDER BY kb", (tenant,)).fetchall()
        return with_default([r[0] for r in rows])

    def close(self) -> None:
        with self._lock:
            self._db.close()


def open_knowledge_bases(settings: Settings) -> KnowledgeBaseRegistry:
    """The registry ``settings`` name: PostgreSQL's table when the store is PostgreSQL, else
    ``<data_dir>/service.sqlite``."""
    if settings.uses_postgres:
        from ragwright.service.postgres_kbs import PostgresKnowledgeBases

        return PostgresKnowledgeBases(settings.store_dsn())
    return KnowledgeBases(settings.data_dir / "service.sqlite")
