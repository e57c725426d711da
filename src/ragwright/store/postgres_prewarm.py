"""Prewarm: read the relations a hybrid search touches into PostgreSQL's shared buffers (``pg_prewarm``).

Right after a server restart, or when other work pushed them out, an HNSW search reads its index pages from the
operating system's cache or the disk, one page at a time as the graph walk reaches them: at 200,000 chunks the first
run of 200 hybrid searches after a restart had p99 172-304 ms where a warm or prewarmed run had 49-68 ms
(docs/postgres.md, "Shared buffers, prewarm, and the floor"). ``pg_prewarm`` reads whole relations into shared
buffers in one sequential pass instead. What is read, least needed first (when
the total is larger than ``shared_buffers`` the last ones read are the ones that stay):

1. ``documents`` and its primary key (the fused top 10's document fields),
2. ``chunks_by_id``, the TOAST table of ``chunks`` (values stored out of line) and the ``chunks`` heap (vectors of
   keyword-only candidates, the top 10's rows),
3. every tenant's HNSW index of this schema (``chunks_hnsw_*``): the graph walk, the search's critical path.

The extension ships with PostgreSQL (contrib) but must be created once by a user allowed to
(``CREATE EXTENSION pg_prewarm``); :func:`prewarm` tries to, and says so when it cannot.

Example::

    with pool.connection() as conn:
        report = prewarm(conn)
    report.megabytes, report.fits          # 614.2, True: everything read fits in shared_buffers
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from ragwright.errors import StoreError

__all__ = ["PrewarmReport", "PrewarmedRelation", "prewarm", "prewarm_on_open", "prewarm_targets"]

log = logging.getLogger(__name__)

_TABLES = ("documents_pkey", "documents", "chunks_by_id", "chunks")
"""Read first, in this order; the HNSW indexes come after them."""


@dataclass(frozen=True)
class PrewarmedRelation:
    """One relation read into shared buffers: its name and how many 8 kB blocks were read."""

    name: str
    blocks: int

    @property
    def megabytes(self) -> float:
        return self.blocks * 8192 / 2**20


@dataclass(frozen=True)
class PrewarmReport:
    """What :func:`prewarm` read, how long it took, and whether it all fits in ``shared_buffers``."""

    relations: tuple[PrewarmedRelation, ...]
    seconds: float
    shared_buffers_mb: float

    @property
    def megabytes(self) -> float:
        return sum(r.megabytes for r in self.relations)

    @property
    def fits(self) -> bool:
        """False when the relations are larger than shared_buffers: the first ones read were pushed out again."""
        return self.megabytes <= self.shared_buffers_mb

    def to_dict(self) -> dict[str, Any]:
        return {
            "relations": [{"name": r.name, "blocks": r.blocks, "mb": round(r.megabytes, 1)} for r in self.relations],
            "mb": round(self.megabytes, 1),
            "seconds": round(self.seconds, 2),
            "shared_buffers_mb": round(self.shared_buffers_mb, 1),
            "fits": self.fits,
        }


def prewarm_targets(conn: Any) -> list[str]:
    """The relations of the current schema to read, in order: the tables, then every valid HNSW index on chunks."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid"
        " WHERE i.indrelid = to_regclass('chunks') AND i.indisvalid AND c.relname LIKE %s ORDER BY c.relname",
        ("chunks\\_hnsw\\_%",),
    ).fetchall()
    present = [t for t in _TABLES if conn.execute("SELECT to_regclass(%s)", (t,)).fetchone()[0] is not None]
    # Vectors (and long texts) that went out of line live in chunks' TOAST table: read it before chunks itself.
    toast = conn.execute(
        "SELECT t.oid::regclass::text, i.indexrelid::regclass::text FROM pg_class c JOIN pg_class t"
        " ON t.oid = c.reltoastrelid JOIN pg_index i ON i.indrelid = t.oid WHERE c.oid = to_regclass('chunks')"
    ).fetchall()
    if "chunks" in present:
        at = present.index("chunks")
        present[at:at] = [name for pair in toast for name in pair[::-1]]  # its index, then the TOAST table
    return present + [r[0] for r in rows]


def _extension_schema(conn: Any) -> str:
    """The schema pg_prewarm is installed in, creating the extension first when it is missing."""
    find = "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = %s"
    row = conn.execute(find, ("pg_prewarm",)).fetchone()
    if row is None:
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        except psycopg.Error as exc:
            raise StoreError(
                "prewarm needs the pg_prewarm extension: run CREATE EXTENSION pg_prewarm once as a user allowed to "
                f"(the store's user could not: {exc.diag.message_primary or type(exc).__name__})"
            ) from exc
        row = conn.execute(find, ("pg_prewarm",)).fetchone()
    return str(row[0])


def prewarm(conn: Any) -> PrewarmReport:
    """Read the current schema's search relations into shared buffers (autocommit connection ``conn``)."""
    started = time.perf_counter()
    function = sql.Identifier(_extension_schema(conn), "pg_prewarm")
    read = []
    for name in prewarm_targets(conn):
        blocks = conn.execute(sql.SQL("SELECT {}(to_regclass(%s), 'buffer')").format(function), (name,)).fetchone()
        read.append(PrewarmedRelation(name, int(blocks[0])))
    shared = conn.execute("SELECT setting::bigint * 8192 / 1048576.0 FROM pg_settings WHERE name = 'shared_buffers'")
    return PrewarmReport(tuple(read), time.perf_counter() - started, float(shared.fetchone()[0]))


def prewarm_on_open(conn: Any, where: str) -> PrewarmReport | None:
    """``[postgres] prewarm``: prewarm when the store opens; a failure is logged, never raised (a cold start is
    slower, not broken)."""
    try:
        report = prewarm(conn)
    except (StoreError, psycopg.Error) as exc:
        log.warning("prewarm of %s skipped: %s", where, exc)
        return None
    level = logging.INFO if report.fits else logging.WARNING
    log.log(
        level,
        "prewarmed %s: %.0f MB in %.1f s (shared_buffers %.0f MB%s)",
        where,
        report.megabytes,
        report.seconds,
        report.shared_buffers_mb,
        "" if report.fits else ": too small to hold it all, raise it (docs/scale-out.md)",
    )
    return report
