"""SQL of the PostgreSQL store: filters, document rows and the BM25 ranking query (psycopg ``%s`` parameters).

Filters mean what they mean on SQLite (:func:`ragwright.store.sql.filter_sql`): a path filter is a SQLite ``GLOB``
pattern, translated here to an anchored POSIX regular expression; tags match when the document carries any of them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ragwright.store.base import DocumentInfo, Filters

_REGEX_SPECIAL = re.compile(r"([.^$+(){}|\\])")


def glob_regex(glob: str) -> str:
    """SQLite ``GLOB`` semantics as a POSIX regex: ``*`` any run, ``?`` one character, ``[...]`` a class (``[^...]``
    negated), case-sensitive, anchored at both ends; everything else literal."""
    out: list[str] = ["^"]
    i = 0
    while i < len(glob):
        ch = glob[i]
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "[":
            end = glob.find("]", i + 2 if glob[i + 1 : i + 2] in ("]", "^") else i + 1)
            if end == -1:
                out.append(r"\[")
            else:
                body = glob[i + 1 : end].replace("\\", "\\\\")
                out.append(f"[{body}]")
                i = end
        else:
            out.append(_REGEX_SPECIAL.sub(r"\\\1", ch) if ch not in "[]" else "\\" + ch)
        i += 1
    out.append("$")
    return "".join(out)


def filter_sql(filters: Filters | None) -> tuple[str, list[Any]]:
    """SQL conditions over aliases ``c`` (chunks) and ``d`` (documents) for ``filters``, with their parameters."""
    if not filters:
        return "", []
    parts: list[str] = []
    params: list[Any] = []
    if filters.paths:
        parts.append("d.doc_id ~ ANY(%s::text[])")
        params.append([glob_regex(g) for g in filters.paths])
    if filters.file_types:
        parts.append("d.file_type = ANY(%s::text[])")
        params.append([ft.lower().lstrip(".") for ft in filters.file_types])
    if filters.tags:
        parts.append("d.tags && %s::text[]")
        params.append(list(filters.tags))
    return " AND " + " AND ".join(parts), params


DOCUMENT_COLUMNS = (
    "d.doc_id, d.source, d.file_type, d.title, d.content_hash, d.n_chunks, d.tags, d.ingested_at,"
    " (SELECT COUNT(*) FROM chunks c WHERE c.tenant = d.tenant AND c.doc_id = d.doc_id AND c.injection IS NOT NULL)"
)


def document_info(r: Sequence[Any]) -> DocumentInfo:
    return DocumentInfo(
        doc_id=r[0],
        source=r[1],
        file_type=r[2],
        title=r[3],
        content_hash=r[4],
        n_chunks=r[5],
        tags=tuple(r[6]),
        ingested_at=r[7],
        flagged_chunks=int(r[8]),
    )


def document_rows(
    conn: Any, tenant: str, *, after: str | None, limit: int | None, tags: Sequence[str]
) -> list[DocumentInfo]:
    """A keyset page of the tenant's documents in code-point order of ``doc_id`` (the column's collation is "C")."""
    if limit is not None and limit <= 0:
        return []
    where, params = filter_sql(Filters(tags=tuple(tags)))
    if after is not None:
        where += " AND d.doc_id > %s"
        params.append(after)
    rows = conn.execute(
        f"SELECT {DOCUMENT_COLUMNS} FROM documents d WHERE d.tenant = %s{where} ORDER BY d.doc_id LIMIT %s",
        (tenant, *params, limit),
    ).fetchall()
    return [document_info(r) for r in rows]


def bm25_query(
    *, k1: float, b: float, avgdl: float, context_weight: float, filters: Filters | None
) -> tuple[str, list[Any]]:
    """The BM25 ranking query over the tenant's postings, the same sum as the SQLite store's
    (:func:`ragwright.store.sql.bm25_sql`). Bind ``(terms, idfs, tenant, *filter_params, k)``; the second element of
    the result is ``filter_params``."""
    boost = context_weight - 1.0  # title/heading occurrences count context_weight times
    tf = f"(p.tf + {boost!r}::float8 * p.tf_context)"
    norm = f"({1.0 - b!r}::float8 + {b / avgdl!r}::float8 * p.dl)"
    # summed in the query's term order (ORDER BY inside the aggregate), as the postings held in memory are: float
    # addition depends on its order, and a search takes either path depending on time, so both must agree to the bit
    score = f"SUM(q.idf * {tf} * {k1 + 1.0!r}::float8 / ({tf} + {k1!r}::float8 * {norm}) ORDER BY q.ord)"
    where, params = filter_sql(filters)
    sql = (
        f"SELECT c.chunk_id, {score} AS s"
        " FROM unnest(%s::text[], %s::float8[]) WITH ORDINALITY AS q(term, idf, ord)"
        " JOIN postings p ON p.term = q.term AND p.tenant = %s"
        " JOIN chunks c ON c.id = p.chunk AND c.tenant = p.tenant"
        + (" JOIN documents d ON d.tenant = c.tenant AND d.doc_id = c.doc_id" if where else "")
        + f" WHERE TRUE{where} GROUP BY c.id, c.chunk_id ORDER BY s DESC, c.id LIMIT %s"
    )
    return sql, params
