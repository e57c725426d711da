"""What a key may read and write, by its tags: one rule for every front door (HTTP routes, the upload worker, MCP).

A key created with ``--tags a,b`` is *tag-limited*; a key without tags is not. :class:`TagScope` holds those tags
(empty: unrestricted) and answers every question the front doors ask:

- **read** (:meth:`TagScope.sees`): a tag-limited key sees a document only when it carries at least one of the key's
  tags. Searches get the key's tags as a filter inside the store query (:meth:`TagScope.narrow`): a request's own
  tags are intersected with the key's, so they can narrow, never widen.
- **write** (:meth:`TagScope.check_write`), checked on the document as it will be stored (after loading: Markdown
  front matter included), just before it is written:
  1. every tag the document will carry must be one of the key's, and it must carry at least one (else the key could
     not read what it wrote);
  2. a document with the same id that the key may not see cannot be replaced (nor found "unchanged").
  A refusal is :class:`~ragwright.errors.AccessDenied`. When the name is taken by a document the key may not see,
  the reason is neutral (:func:`write_refused_reason`): it names neither the other document's tags nor its
  content, and does not say it exists. That the name is not available at all cannot be hidden: writing under it
  would otherwise have to destroy the other document or lie about succeeding.
- **delete** follows read: a document the key may not see reads as missing (404), like one that does not exist.
- **jobs** (:meth:`TagScope.covers`): a job is readable by a key whose scope covers the scope of the key that
  created it (an unrestricted key's jobs only by unrestricted keys), so a job's file names and failures never reach
  a key that could not read the documents the job could write.

Example::

    scope = TagScope(("public",))
    scope.sees(("public", "hr"))                   # True
    scope.narrow(Filters(tags=("hr",)))            # False: nothing to see
    scope.check_write(("internal",), None)         # AccessDenied: tags outside the key
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from ragwright.documents.model import Document
from ragwright.errors import AccessDenied
from ragwright.store.base import DocumentInfo, Filters


def write_refused_reason(doc_id: str) -> str:
    """The one refusal for a name the key may not write under (taken by a document it may not see)."""
    return f"this key may not write a document named {doc_id!r}"


@dataclass(frozen=True, slots=True)
class TagScope:
    """The tags a key is limited to (empty: unrestricted), and the read/write rule over them."""

    tags: tuple[str, ...] = ()

    @property
    def limited(self) -> bool:
        return bool(self.tags)

    def sees(self, doc_tags: Iterable[str]) -> bool:
        """True when a document carrying ``doc_tags`` is visible: unrestricted, or one tag in common."""
        return not self.tags or not set(self.tags).isdisjoint(doc_tags)

    def covers(self, other: TagScope) -> bool:
        """True when everything ``other`` may see, this scope sees too (used for jobs)."""
        if not self.tags:
            return True
        return bool(other.tags) and set(other.tags) <= set(self.tags)

    def narrow(self, requested: Filters | None) -> Filters | None | Literal[False]:
        """Store filters for a search: the request's own narrowed to the key's tags.

        ``None``: nothing restricts the search; ``False``: the request asks only for tags the key may not read.
        """
        req = requested or Filters()
        if not self.tags:
            return req if req else None
        tags = tuple(t for t in req.tags if t in self.tags) if req.tags else self.tags
        if not tags:
            return False
        return Filters(paths=req.paths, file_types=req.file_types, tags=tags)

    def upload_tags(self, requested: Iterable[str]) -> tuple[str, ...]:
        """The tags to give documents the key uploads: the requested ones (all must be the key's), else the key's."""
        tags = tuple(dict.fromkeys(t for t in requested if t))
        if not self.tags:
            return tags
        if not tags:
            return self.tags
        self._check_tags(tags)
        return tags

    def check_write(self, doc_tags: Iterable[str], existing_tags: Iterable[str] | None, doc_id: str = "") -> None:
        """Raise :class:`AccessDenied` unless the key may write a document carrying ``doc_tags`` whose id is held by
        a document with ``existing_tags`` (None: the id is free)."""
        if not self.tags:
            return
        if existing_tags is not None and not self.sees(existing_tags):
            raise AccessDenied(write_refused_reason(doc_id))
        tags = tuple(dict.fromkeys(doc_tags))
        if not tags:
            raise AccessDenied(f"this key may only write documents tagged {', '.join(self.tags)}; this one has none")
        self._check_tags(tags)

    def guard(self, doc: Document, existing: DocumentInfo | None) -> None:
        """:meth:`check_write` for a loaded document: the ingest pipeline's ``WriteGuard``."""
        self.check_write(doc.tags, None if existing is None else existing.tags, doc.doc_id)

    def _check_tags(self, tags: tuple[str, ...]) -> None:
        outside = [t for t in tags if t not in self.tags]
        if outside:
            raise AccessDenied(
                f"the document would carry tags {', '.join(outside)}; this key may only write {', '.join(self.tags)}"
            )
