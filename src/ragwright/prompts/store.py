"""Where prompt versions, labels and splits are kept: the :class:`PromptStore` Protocol and its SQL implementation.

One implementation serves both databases ragwright stores an index in: :class:`SQLitePromptStore` (tables in the
index file) and :class:`~ragwright.prompts.postgres.PostgresPromptStore` (tables in the PostgreSQL store's database).
They share every statement; only the connection, the placeholder and the transaction differ (:class:`Backend`).

Every write takes ``seed``: the packaged version 1 of the name, written first in the same transaction when the tenant
has no row of that name yet (its copy-on-first-write, see :mod:`ragwright.prompts.registry`).

Example::

    store = SQLitePromptStore(Path(".ragwright/index.sqlite"))
    store.add_version("acme", "answer", "Brief. $boundary", ("boundary",), note="", by="cli", seed=packaged("answer"))
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from ragwright.errors import PromptNotFound, StoreError
from ragwright.prompts.model import DEFAULT_LABEL, LATEST, PromptVersion, Split
from ragwright.prompts.schema import PROMPTS
from ragwright.redact import quote_id
from ragwright.sqlite_migrations import migrate

__all__ = ["Backend", "PromptStore", "SQLPromptStore", "SQLitePromptStore"]

Exec = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
_VERSION_COLS = "name, version, template, variables, note, created_at, created_by, packaged"


class PromptStore(Protocol):
    """The registry's storage: reads by tenant and name, and atomic writes (each seeds the packaged v1 first)."""

    def names(self, tenant: str) -> list[str]: ...

    def versions(self, tenant: str, name: str) -> list[PromptVersion]: ...

    def version(self, tenant: str, name: str, number: int) -> PromptVersion | None: ...

    def labels(self, tenant: str, name: str) -> dict[str, int]: ...

    def splits(self, tenant: str, name: str) -> list[Split]: ...

    def pointer(self, tenant: str, name: str, label: str) -> tuple[int, Split | None] | None:
        """The version ``label`` points at and its split, in one query (the request path); None: no such label."""
        ...

    def add_version(
        self,
        tenant: str,
        name: str,
        template: str,
        variables: tuple[str, ...],
        *,
        note: str,
        by: str,
        seed: PromptVersion | None,
    ) -> PromptVersion: ...

    def move_label(
        self, tenant: str, name: str, label: str, version: int, *, by: str, seed: PromptVersion | None
    ) -> int | None:
        """Point ``label`` at ``version``; return the version it pointed at before (None: a new label)."""
        ...

    def set_split(
        self, tenant: str, name: str, label: str, split: Split | None, *, by: str, seed: PromptVersion | None
    ) -> None: ...

    def close(self) -> None: ...


class Backend(Protocol):
    """A connection with its dialect: reads, and one transaction at a time for writes."""

    placeholder: str

    def read(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]: ...

    def transaction(self) -> contextlib.AbstractContextManager[Exec]: ...

    def close(self) -> None: ...


def _row(r: tuple[Any, ...]) -> PromptVersion:
    return PromptVersion(r[0], int(r[1]), r[2], tuple(json.loads(r[3])), r[4], float(r[5]), r[6], packaged=bool(r[7]))


class SQLPromptStore:
    """:class:`PromptStore` over any :class:`Backend`; every statement carries the tenant."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._immutable: dict[tuple[str, str, int], PromptVersion] = {}

    def _q(self, sql: str) -> str:
        return sql.replace("?", self.backend.placeholder)

    def _read(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return self.backend.read(self._q(sql), params)

    def names(self, tenant: str) -> list[str]:
        return [
            r[0] for r in self._read("SELECT DISTINCT name FROM prompt_versions WHERE tenant = ? ORDER BY name", tenant)
        ]

    def versions(self, tenant: str, name: str) -> list[PromptVersion]:
        sql = f"SELECT {_VERSION_COLS} FROM prompt_versions WHERE tenant = ? AND name = ? ORDER BY version"
        return [_row(r) for r in self._read(sql, tenant, name)]

    def version(self, tenant: str, name: str, number: int) -> PromptVersion | None:
        key = (tenant, name, number)
        if key in self._immutable:  # versions never change once written
            return self._immutable[key]
        sql = f"SELECT {_VERSION_COLS} FROM prompt_versions WHERE tenant = ? AND name = ? AND version = ?"
        rows = self._read(sql, tenant, name, number)
        if not rows:
            return None
        self._immutable[key] = found = _row(rows[0])
        return found

    def labels(self, tenant: str, name: str) -> dict[str, int]:
        rows = self._read(
            "SELECT label, version FROM prompt_labels WHERE tenant = ? AND name = ? ORDER BY label", tenant, name
        )
        return {r[0]: int(r[1]) for r in rows}

    def splits(self, tenant: str, name: str) -> list[Split]:
        sql = "SELECT label, version, percent FROM prompt_splits WHERE tenant = ? AND name = ? ORDER BY label"
        return [Split(r[0], int(r[1]), float(r[2])) for r in self._read(sql, tenant, name)]

    def pointer(self, tenant: str, name: str, label: str) -> tuple[int, Split | None] | None:
        rows = self._read(
            "SELECT l.version, s.version, s.percent FROM prompt_labels l LEFT JOIN prompt_splits s"
            " ON s.tenant = l.tenant AND s.name = l.name AND s.label = l.label"
            " WHERE l.tenant = ? AND l.name = ? AND l.label = ?",
            tenant,
            name,
            label,
        )
        if not rows:
            return None
        version, split_version, percent = rows[0]
        split = Split(label, int(split_version), float(percent)) if split_version is not None else None
        return int(version), split

    # -- writes: each in one transaction, seeding the packaged v1 first ------------------------------------------

    def _seeded(self, run: Exec, tenant: str, seed: PromptVersion | None) -> None:
        q = self._q
        if seed is None or run(
            q("SELECT 1 FROM prompt_versions WHERE tenant = ? AND name = ? LIMIT 1"), (tenant, seed.name)
        ):
            return
        self._insert(run, tenant, seed, "package")
        for label in (DEFAULT_LABEL, LATEST):
            self._point(run, tenant, seed.name, label, seed.version, None, "package")

    def _insert(self, run: Exec, tenant: str, v: PromptVersion, by: str) -> None:
        run(
            self._q(f"INSERT INTO prompt_versions (tenant, {_VERSION_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            (
                tenant,
                v.name,
                v.version,
                v.template,
                json.dumps(list(v.variables)),
                v.note,
                time.time(),
                by,
                int(v.packaged),
            ),
        )

    def _point(
        self, run: Exec, tenant: str, name: str, label: str, version: int, previous: int | None, by: str
    ) -> None:
        now = time.time()
        run(
            self._q(
                "INSERT INTO prompt_labels (tenant, name, label, version, moved_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (tenant, name, label)"
                " DO UPDATE SET version = excluded.version, moved_at = excluded.moved_at"
            ),
            (tenant, name, label, version, now),
        )
        run(
            self._q("INSERT INTO prompt_label_moves VALUES (?, ?, ?, ?, ?, ?, ?)"),
            (tenant, name, label, version, previous, now, by),
        )

    def _require(self, run: Exec, tenant: str, name: str, version: int) -> None:
        q = "SELECT 1 FROM prompt_versions WHERE tenant = ? AND name = ? AND version = ?"
        if not run(self._q(q), (tenant, name, version)):
            raise PromptNotFound(f"prompt {quote_id(name)} has no version {version}")

    def add_version(
        self,
        tenant: str,
        name: str,
        template: str,
        variables: tuple[str, ...],
        *,
        note: str,
        by: str,
        seed: PromptVersion | None,
    ) -> PromptVersion:
        with self.backend.transaction() as run:
            self._seeded(run, tenant, seed)
            top = run(self._q("SELECT MAX(version) FROM prompt_versions WHERE tenant = ? AND name = ?"), (tenant, name))
            made = PromptVersion(name, int(top[0][0] or 0) + 1, template, variables, note, time.time(), by)
            self._insert(run, tenant, made, by)
            previous = self._current(run, tenant, name, LATEST)
            self._point(run, tenant, name, LATEST, made.version, previous, by)
            if self._current(run, tenant, name, DEFAULT_LABEL) is None:  # a new name: its first version serves
                self._point(run, tenant, name, DEFAULT_LABEL, made.version, None, by)
        return made

    def _current(self, run: Exec, tenant: str, name: str, label: str) -> int | None:
        q = "SELECT version FROM prompt_labels WHERE tenant = ? AND name = ? AND label = ?"
        rows = run(self._q(q), (tenant, name, label))
        return int(rows[0][0]) if rows else None

    def move_label(
        self, tenant: str, name: str, label: str, version: int, *, by: str, seed: PromptVersion | None
    ) -> int | None:
        with self.backend.transaction() as run:
            self._seeded(run, tenant, seed)
            self._require(run, tenant, name, version)
            previous = self._current(run, tenant, name, label)
            self._point(run, tenant, name, label, version, previous, by)
        return previous

    def set_split(
        self, tenant: str, name: str, label: str, split: Split | None, *, by: str, seed: PromptVersion | None
    ) -> None:
        with self.backend.transaction() as run:
            self._seeded(run, tenant, seed)
            if split is None:
                run(
                    self._q("DELETE FROM prompt_splits WHERE tenant = ? AND name = ? AND label = ?"),
                    (tenant, name, label),
                )
                return
            self._require(run, tenant, name, split.version)
            if self._current(run, tenant, name, label) is None:
                raise PromptNotFound(f"prompt {quote_id(name)} has no label {quote_id(label)}")
            run(
                self._q(
                    "INSERT INTO prompt_splits (tenant, name, label, version, percent) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (tenant, name, label) DO UPDATE SET version = excluded.version,"
                    " percent = excluded.percent"
                ),
                (tenant, name, label, split.version, split.percent),
            )

    def close(self) -> None:
        self.backend.close()


class _SQLiteBackend:
    """The index file (or ``:memory:``), opened on first use; a missing file is read as empty and created only by a
    write, so listing prompts before anything was ingested leaves no index behind."""

    placeholder = "?"

    def __init__(self, path: Path | str, timeout_s: float = 30.0) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self._db: sqlite3.Connection | None = None
        self._lock = threading.RLock()

    def _open(self, create: bool) -> sqlite3.Connection | None:
        if self._db is None:
            memory = str(self.path) == ":memory:"
            if not memory and not create and not Path(self.path).exists():
                return None
            if not memory:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            try:
                db = sqlite3.connect(
                    str(self.path), timeout=self.timeout_s, isolation_level=None, check_same_thread=False
                )
                if not memory:
                    db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA foreign_keys=ON")
                migrate(db, PROMPTS, where=self.path)
            except sqlite3.Error as exc:
                raise StoreError(f"cannot open the prompt registry in {self.path}: {exc}") from exc
            self._db = db
        return self._db

    def read(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self._lock:
            db = self._open(create=False)
            return [] if db is None else db.execute(sql, tuple(params)).fetchall()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Exec]:
        with self._lock:
            db = self._open(create=True)
            assert db is not None
            db.execute("BEGIN IMMEDIATE")
            try:
                yield lambda sql, params: db.execute(sql, tuple(params)).fetchall()
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


class SQLitePromptStore(SQLPromptStore):
    """The registry's tables in a SQLite file (the index), or in memory (``":memory:"``, tests and packaged-only)."""

    def __init__(self, path: Path | str) -> None:
        super().__init__(_SQLiteBackend(path))
