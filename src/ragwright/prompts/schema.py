"""The prompt registry's tables, through the project's one migration mechanism (:mod:`ragwright.sqlite_migrations`).

:data:`PROMPTS` adds them to the SQLite index file (recorded as ``prompts.<name>`` beside the index's own bare-named
migrations); :data:`PG_PROMPTS` adds the same tables to the PostgreSQL store's database, applied with
:func:`ragwright.store.postgres_schema.migrate_postgres` (recorded as ``pg_prompts.<name>``). Every row carries the
tenant: one tenant's versions, labels and splits are never read with another's.
"""

from __future__ import annotations

from typing import Any

from ragwright.sqlite_migrations import Schema, execute_script

__all__ = ["PG_PROMPTS", "PROMPTS"]

PROMPTS = Schema("prompts")
PG_PROMPTS = Schema("pg_prompts")

_TABLES = """
CREATE TABLE IF NOT EXISTS prompt_versions (
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    template TEXT NOT NULL,
    variables TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    packaged INTEGER NOT NULL DEFAULT 0,
    created_at {real} NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant, name, version)
);
CREATE TABLE IF NOT EXISTS prompt_labels (
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    label TEXT NOT NULL,
    version INTEGER NOT NULL,
    moved_at {real} NOT NULL,
    PRIMARY KEY (tenant, name, label),
    FOREIGN KEY (tenant, name, version) REFERENCES prompt_versions (tenant, name, version)
);
CREATE TABLE IF NOT EXISTS prompt_splits (
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    label TEXT NOT NULL,
    version INTEGER NOT NULL,
    percent {real} NOT NULL,
    PRIMARY KEY (tenant, name, label),
    FOREIGN KEY (tenant, name, version) REFERENCES prompt_versions (tenant, name, version)
);
CREATE TABLE IF NOT EXISTS prompt_label_moves (
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    label TEXT NOT NULL,
    version INTEGER,
    previous INTEGER,
    moved_at {real} NOT NULL,
    moved_by TEXT NOT NULL DEFAULT ''
)
"""


@PROMPTS.migration
def m001_prompt_registry(db: Any) -> None:
    execute_script(db, _TABLES.format(real="REAL"))


@PG_PROMPTS.migration
def m001_prompt_registry_pg(conn: Any) -> None:
    execute_script(conn, _TABLES.format(real="DOUBLE PRECISION"))
