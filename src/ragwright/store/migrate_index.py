"""The index's part of ``ragwright migrate``: documents, chunks with their vectors, postings, tenants and meta copied
from ``index.sqlite`` into the PostgreSQL store's tables as they are (no re-embedding, no re-analysis).

Documents are copied in ``(tenant, doc_id)`` order, a batch of documents per PostgreSQL transaction together with the
position reached, so an interrupted copy goes on after the last committed document. A chunk keeps its SQLite row id
(``OVERRIDING SYSTEM VALUE``), so postings are copied with their chunk references unchanged; the identity sequence is
moved past the largest id at the end. The tenants' BM25 totals are copied last, exactly. Checks compare the logical
rows of both stores: the chunk row includes its float32 vector's bytes, a posting names its chunk by chunk id.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import sqlean
import sqlite_vec

from ragwright.store.migrate_tables import MigrationContext, TableCheck, Tally, tally

__all__ = ["IndexTables"]

ITEM = "index.documents"
_CHUNK_COLUMNS = (
    "id, tenant, doc_id, chunk_id, ordinal, text, context, char_start, char_end, heading_path, page, n_tokens,"
    " n_terms, text_hash, injection, source_spans"
)


def _open_index(ctx: MigrationContext) -> Any | None:
    path = ctx.source / "index.sqlite"
    if not path.exists():
        return None
    db = sqlean.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'documents'").fetchone() is None:
        db.close()  # a file with other components' tables only (an index never written to)
        return None
    db.enable_load_extension(True)
    sqlite_vec.load(db)
    db.enable_load_extension(False)
    return db


def _vectors(src: Any, tenant: str, ids: list[int], dim: int | None) -> dict[int, np.ndarray[Any, Any]]:
    if not ids or dim is None:
        return {}
    marks = ",".join("?" * len(ids))
    rows = src.execute(
        f"SELECT rowid, embedding FROM chunks_vec WHERE tenant = ? AND rowid IN ({marks})", (tenant, *ids)
    )
    return {int(r): np.frombuffer(blob, dtype=np.float32) for r, blob in rows}


class IndexTables:
    """The SQLite index into the PostgreSQL store's ``documents``, ``chunks``, ``postings``, ``tenants``, ``meta``."""

    name = "index"

    def target_tables(self) -> list[str]:
        return ["documents", "document_originals", "chunks", "postings", "tenants", "meta"]

    # -- copy ----------------------------------------------------------------------------------------------------

    def copy(self, ctx: MigrationContext) -> None:
        src = _open_index(ctx)
        if src is None:
            return
        try:
            meta = dict(src.execute("SELECT key, value FROM meta").fetchall())
            self._bind(ctx, meta)
            position, done = ctx.position(ITEM)
            after: tuple[str, str] = tuple(json.loads(position)) if position else ("", "")
            dim = int(meta["embedding_dim"]) if "embedding_dim" in meta else None
            kw = dict(src.execute("SELECT tenant, kw_table FROM tenants").fetchall())
            while not done:
                docs = src.execute(
                    "SELECT tenant, doc_id, source, file_type, title, content_hash, tags, metadata, n_chunks,"
                    " ingested_at FROM documents WHERE (tenant, doc_id) > (?, ?) ORDER BY tenant, doc_id LIMIT ?",
                    (*after, ctx.batch_size),
                ).fetchall()
                with ctx.conn.transaction():
                    n = sum(self._copy_document(ctx.conn, src, doc, kw, dim) for doc in docs)
                    if docs:
                        after = (docs[-1][0], docs[-1][1])
                    done = not docs
                    if done:
                        self._finish(ctx.conn, src)
                    ctx.save(ctx.conn, ITEM, json.dumps(list(after)), done=done)
                ctx.batch_done(ITEM, n)
            self._build_vector_indexes(ctx)
        finally:
            src.close()

    @staticmethod
    def _bind(ctx: MigrationContext, meta: dict[str, str]) -> None:
        """Apply the store's migrations and record the embedder (the vector column gets its width)."""
        from pgvector.psycopg import register_vector

        from ragwright.store.postgres_schema import PG_INDEX, migrate_postgres

        migrate_postgres(ctx.conn, PG_INDEX, where="the target")
        register_vector(ctx.conn)  # the vector type exists now (the store's first migration creates the extension)
        with ctx.conn.transaction():
            have = dict(ctx.conn.execute("SELECT key, value FROM meta").fetchall())
            if "embedding_dim" in meta and "embedding_dim" not in have:
                ctx.conn.execute(f"ALTER TABLE chunks ALTER COLUMN embedding TYPE vector({int(meta['embedding_dim'])})")
            for key, value in meta.items():
                ctx.conn.execute("INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO NOTHING", (key, value))

    @staticmethod
    def _copy_document(conn: Any, src: Any, doc: tuple[Any, ...], kw: dict[str, str], dim: int | None) -> int:
        from psycopg.types.json import Jsonb

        tenant, doc_id = doc[0], doc[1]
        conn.execute(
            "INSERT INTO documents (tenant, doc_id, source, file_type, title, content_hash, tags, metadata, n_chunks,"
            " ingested_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (*doc[:6], json.loads(doc[6]), Jsonb(json.loads(doc[7])), doc[8], doc[9]),
        )
        _copy_original(conn, src, tenant, doc_id)
        chunks = src.execute(
            f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE tenant = ? AND doc_id = ? ORDER BY id", (tenant, doc_id)
        ).fetchall()
        if not chunks:
            return 0
        ids = [int(c[0]) for c in chunks]
        vectors = _vectors(src, tenant, ids, dim)
        rows = [(*c[:9], json.loads(c[9]), *c[10:], vectors[int(c[0])]) for c in chunks]
        marks = ",".join("?" * len(ids))
        postings = src.execute(
            f"SELECT term, rid, tf, tf_context, dl FROM {kw[tenant]} WHERE rid IN ({marks})", ids
        ).fetchall()
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO chunks ({_CHUNK_COLUMNS}, embedding) OVERRIDING SYSTEM VALUE VALUES"
                f" ({', '.join(['%s'] * 17)})",
                rows,
            )
            cur.executemany(
                "INSERT INTO postings (tenant, term, chunk, tf, tf_context, dl) VALUES (%s, %s, %s, %s, %s, %s)",
                [(tenant, *p) for p in postings],
            )
        return len(chunks)

    @staticmethod
    def _build_vector_indexes(ctx: MigrationContext) -> None:
        """What the store's own writes do when a tenant crosses ``hnsw_min_chunks``: build its HNSW index (the copy
        wrote rows directly, so nothing did). Idempotent: a tenant that has its index is skipped on a rerun."""
        from ragwright.store.postgres_vectors import DenseSearch

        dense = DenseSearch(ctx.postgres)
        for (tenant,) in ctx.conn.execute("SELECT tenant FROM tenants ORDER BY tenant").fetchall():
            dense.maybe_build(lambda: contextlib.nullcontext(ctx.conn), tenant)

    @staticmethod
    def _finish(conn: Any, src: Any) -> None:
        """The tenants' BM25 totals as the source has them, and the chunk id sequence past the copied ids."""
        for tenant, n_chunks, n_terms, version in src.execute("SELECT tenant, n_chunks, n_terms, version FROM tenants"):
            conn.execute(
                "INSERT INTO tenants (tenant, n_chunks, n_terms, version) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (tenant) DO UPDATE SET n_chunks = excluded.n_chunks, n_terms = excluded.n_terms,"
                " version = excluded.version",
                (tenant, n_chunks, n_terms, version),
            )
        conn.execute("SELECT setval(pg_get_serial_sequence('chunks', 'id'), GREATEST((SELECT MAX(id) FROM chunks), 1))")

    # -- checks --------------------------------------------------------------------------------------------------

    def checks(self, ctx: MigrationContext) -> list[TableCheck]:
        src = _open_index(ctx)
        if src is None:
            empty = Tally().checksum
            return [TableCheck(t, 0, 0, empty, empty, absent=True) for t in self.target_tables()]
        try:
            source = self._source_tallies(src)
        finally:
            src.close()
        target = self._target_tallies(ctx.conn)
        return [
            TableCheck(t, source[t].rows, target[t].rows, source[t].checksum, target[t].checksum)
            for t in self.target_tables()
        ]

    @staticmethod
    def _source_tallies(src: Any) -> dict[str, Tally]:
        meta = dict(src.execute("SELECT key, value FROM meta").fetchall())
        dim = int(meta["embedding_dim"]) if "embedding_dim" in meta else None
        out = {
            "documents": tally(
                (*d[:6], _list(json.loads(d[6])), _json(json.loads(d[7])), *d[8:])
                for d in src.execute(
                    "SELECT tenant, doc_id, source, file_type, title, content_hash, tags, metadata, n_chunks,"
                    " ingested_at FROM documents"
                )
            ),
            "document_originals": tally(
                (t, d, m, _digest(data), smap)
                for t, d, m, data, smap in (
                    src.execute("SELECT tenant, doc_id, media_type, data, source_map FROM document_originals")
                    if _has_originals(src)
                    else []
                )
            ),
            "chunks": Tally(),
            "postings": Tally(),
            "tenants": tally(src.execute("SELECT tenant, n_chunks, n_terms, version FROM tenants")),
            "meta": tally(src.execute("SELECT key, value FROM meta")),
        }
        for tenant, kw_table in src.execute("SELECT tenant, kw_table FROM tenants").fetchall():
            for rows in _batched(src, f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE tenant = ? ORDER BY id", (tenant,)):
                vectors = _vectors(src, tenant, [int(r[0]) for r in rows], dim)
                for r in rows:
                    vec = vectors.get(int(r[0]))
                    out["chunks"].add((*r[1:9], _list(json.loads(r[9])), *r[10:], _vector(vec)))
            for p in src.execute(
                f"SELECT k.term, c.chunk_id, k.tf, k.tf_context, k.dl FROM {kw_table} k JOIN chunks c ON c.id = k.rid"
            ):
                out["postings"].add((tenant, *p))
        return out

    @staticmethod
    def _target_tallies(conn: Any) -> dict[str, Tally]:
        from pgvector.psycopg import register_vector

        register_vector(conn)
        return {
            "documents": tally(
                (*d[:6], _list(d[6]), _json(d[7]), *d[8:])
                for d in conn.execute(
                    "SELECT tenant, doc_id, source, file_type, title, content_hash, tags, metadata, n_chunks,"
                    " ingested_at FROM documents"
                )
            ),
            "document_originals": tally(
                (t, d, m, _digest(data), smap)
                for t, d, m, data, smap in conn.execute(
                    "SELECT tenant, doc_id, media_type, data, source_map FROM document_originals"
                )
            ),
            "chunks": tally(
                (*r[1:9], _list(r[9]), *r[10:16], _vector(r[16]))
                for r in conn.execute(f"SELECT {_CHUNK_COLUMNS}, embedding FROM chunks")
            ),
            "postings": tally(
                conn.execute(
                    "SELECT p.tenant, p.term, c.chunk_id, p.tf, p.tf_context, p.dl FROM postings p"
                    " JOIN chunks c ON c.id = p.chunk"
                )
            ),
            "tenants": tally(conn.execute("SELECT tenant, n_chunks, n_terms, version FROM tenants")),
            "meta": tally(conn.execute("SELECT key, value FROM meta")),
        }


def _has_originals(src: Any) -> bool:
    """Whether the SQLite index keeps originals (an index last opened before ``m004_document_originals`` does not)."""
    return src.execute("SELECT 1 FROM sqlite_master WHERE name = 'document_originals'").fetchone() is not None


def _digest(data: Any) -> str:
    return hashlib.sha256(bytes(data)).hexdigest()


def _copy_original(conn: Any, src: Any, tenant: str, doc_id: str) -> None:
    """The document's original (what a citation viewer shows), when the SQLite index has one."""
    has_table = _has_originals(src)
    row = (
        src.execute(
            "SELECT media_type, data, source_map FROM document_originals WHERE tenant = ? AND doc_id = ?",
            (tenant, doc_id),
        ).fetchone()
        if has_table
        else None
    )
    if row is not None:
        conn.execute(
            "INSERT INTO document_originals (tenant, doc_id, media_type, data, source_map) VALUES (%s, %s, %s, %s, %s)",
            (tenant, doc_id, row[0], bytes(row[1]), row[2]),
        )


def _batched(src: Any, sql: str, params: tuple[Any, ...], size: int = 500) -> Iterator[list[tuple[Any, ...]]]:
    cur = src.execute(sql, params)
    while rows := cur.fetchmany(size):
        yield rows


def _list(values: Any) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _vector(vec: Any) -> str:
    if vec is None:
        return "-"
    array = np.asarray(vec.to_numpy() if hasattr(vec, "to_numpy") else vec, dtype=np.float32)
    return array.tobytes().hex()
