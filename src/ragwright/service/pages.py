"""Keyset pages of a knowledge base's documents with opaque cursors: ``GET /v1/documents`` and MCP ``list_documents``.

Documents come in ``doc_id`` order. A page is read from the store as ``limit + 1`` rows after the previous page's last
id (``WHERE doc_id > ? ORDER BY doc_id LIMIT ?``, in :meth:`Store.documents`), so a page costs the same at document
100 and at document 100,000, and the extra row says whether there is a next page.

A cursor encodes a position and nothing else: the last id of the page, versioned and base64url-encoded. It names no
tenant, knowledge base or tag, and every page is read under the caller's own tenant and tag scope, so a cursor taken
from another tenant, or a forged one, can only move the starting point within what the caller may read anyway.
Clients must treat it as opaque (the format may change; a cursor is meant for the next request, not for storage).

A :class:`DocumentQuery` narrows a page: tags go into the store query (with the key's own tags, never widening
them); the file type and the text (a case-insensitive substring of the id or title) are matched on the rows read,
in batches of :data:`SCAN_BATCH` ids, reading at most :data:`MAX_SCAN` documents per page. A page that reached that
bound before it filled ends early with ``has_more`` and a cursor after the last document read, so a rare match in a
large knowledge base costs several requests, never one unbounded one.

Example::

    page = document_page(store, "acme", limit=2, after=None)
    page.has_more, page.next_cursor                 # (True, 'djE6Yi5tZA')
    decode_cursor(page.next_cursor)                 # 'b.md'
    document_page(store, "acme", limit=2, after=decode_cursor(page.next_cursor)).documents[0].doc_id  # 'c.md'
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from ragwright.errors import UserError
from ragwright.service.access import TagScope
from ragwright.store.base import DocumentInfo, Filters, Store

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_CURSOR_CHARS = 4096
SCAN_BATCH = 500
MAX_SCAN = 20_000
_PREFIX = b"v1:"
_CURSOR_RE = re.compile(r"^[A-Za-z0-9_-]+$")


class BadCursor(UserError):
    """A cursor this service did not hand out (or that is corrupt): the caller should start again without one."""


@dataclass(frozen=True, slots=True)
class DocumentQuery:
    """What a listing asks for: ``text`` in the id or title (case-insensitive), any of ``tags``, any of
    ``file_types`` (extensions without the dot). Empty fields do not restrict."""

    text: str = ""
    tags: tuple[str, ...] = ()
    file_types: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.text or self.tags or self.file_types)

    def matches(self, doc: DocumentInfo) -> bool:
        """Whether ``doc`` passes the text and type conditions (tags are the store's to apply)."""
        if self.file_types and doc.file_type.lower() not in {t.lower().lstrip(".") for t in self.file_types}:
            return False
        needle = self.text.casefold()
        return not needle or needle in doc.doc_id.casefold() or needle in doc.title.casefold()


@dataclass(frozen=True, slots=True)
class DocumentPage:
    """One page of documents; ``next_cursor`` is set exactly when ``has_more`` is true."""

    documents: list[DocumentInfo]
    has_more: bool
    next_cursor: str | None


def encode_cursor(doc_id: str) -> str:
    """The opaque cursor for the position just after ``doc_id``."""
    return base64.urlsafe_b64encode(_PREFIX + doc_id.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The document id a cursor from :func:`encode_cursor` points after; :class:`BadCursor` for anything else."""
    problem = (
        "is too long"
        if len(cursor) > MAX_CURSOR_CHARS
        else "is not a cursor from this service"
        if not _CURSOR_RE.match(cursor)
        else ""
    )
    if not problem:
        try:
            raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
            if raw.startswith(_PREFIX) and len(raw) > len(_PREFIX):
                return raw[len(_PREFIX) :].decode("utf-8")
        except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
            pass
        problem = "is not a cursor from this service"
    raise BadCursor(
        f"invalid cursor: it {problem}; pass the next_cursor of the previous page unchanged, "
        "or leave it out to start from the first page"
    )


def document_page(
    store: Store,
    tenant: str,
    *,
    limit: int,
    after: str | None,
    tags: tuple[str, ...] = (),
    query: DocumentQuery | None = None,
) -> DocumentPage:
    """Up to ``limit`` documents of ``tenant`` with ids after ``after`` that a key limited to ``tags`` may read
    (all, when empty) and that match ``query``."""
    if not 1 <= limit <= MAX_LIMIT:
        raise UserError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    query = query or DocumentQuery()
    narrowed = TagScope(tags).narrow(Filters(tags=query.tags))
    if narrowed is False:  # only tags the key may not read were asked for
        return DocumentPage([], False, None)
    store_tags = narrowed.tags if narrowed is not None else ()
    if not query.text and not query.file_types:
        rows = store.documents(tenant, after=after, limit=limit + 1, tags=store_tags)
        return _page(rows, limit)
    found: list[DocumentInfo] = []
    scanned, cursor = 0, after
    while scanned < MAX_SCAN:
        batch = store.documents(tenant, after=cursor, limit=SCAN_BATCH, tags=store_tags)
        for doc in batch:
            if query.matches(doc):
                found.append(doc)
                if len(found) > limit:
                    return _page(found, limit)
        scanned += len(batch)
        if len(batch) < SCAN_BATCH:
            return _page(found, limit)
        cursor = batch[-1].doc_id
    # the scan bound: say there may be more, and continue after the last document read
    return DocumentPage(found, True, encode_cursor(cursor) if cursor is not None else None)


def _page(rows: list[DocumentInfo], limit: int) -> DocumentPage:
    page = rows[:limit]
    has_more = len(rows) > limit
    return DocumentPage(page, has_more, encode_cursor(page[-1].doc_id) if has_more else None)
