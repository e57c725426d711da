"""What a key may do with a knowledge base's documents, shared by the JSON routes (``/v1/documents``, ``/v1/jobs``)
and the web UI's Documents page, so both apply one rule (:mod:`ragwright.service.access`).

- :func:`list_documents`: a page of the documents the key may read, narrowed by a :class:`DocumentQuery`;
- :func:`document_chunks`: one document and how it was split (chunks in order, with pages and headings);
- :func:`set_document_tags`: replace a document's tags, under the write rule (the key's own tags only);
- :func:`delete_document`: remove a document and its text from the stored traces;
- :func:`submit_upload`: save uploaded files privately and queue an ingest job (parsed by the worker process);
- :func:`read_job`: a job, if the key's tag scope covers the scope of the key that submitted it.

A document the key may not read reads as missing (``None`` here, 404 over HTTP), like one that does not exist.
Every function here blocks (store and file I/O): callers run it off the event loop (``limits.run_blocking``).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import BinaryIO

from ragwright.errors import UserError
from ragwright.interfaces.http.job_api import Submission
from ragwright.interfaces.http.job_store import Job
from ragwright.interfaces.http.state import ServiceState
from ragwright.observability.trace_store import purge_document
from ragwright.private_files import open_private, private_dir
from ragwright.redact import quote_id
from ragwright.service.access import TagScope
from ragwright.service.keys import ApiKey
from ragwright.service.pages import DocumentPage, DocumentQuery, document_page
from ragwright.store.base import DocumentInfo, StoredChunk

__all__ = [
    "MAX_TAGS",
    "DocumentChunks",
    "Upload",
    "check_file_name",
    "delete_document",
    "document_chunks",
    "list_documents",
    "parse_tags",
    "read_job",
    "set_document_tags",
    "submit_upload",
]

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._()+-]{0,199}$")
TAG_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
MAX_TAGS = 50


def check_file_name(raw: str | None) -> str:
    """The file name an upload is stored under (its last path component), or :class:`UserError` saying why not."""
    name = PureWindowsPath(PurePosixPath(raw or "").name).name.strip()
    if not NAME_RE.match(name) or ".." in name:
        raise UserError(f"unusable file name {quote_id(raw or '')}: use letters, digits, space and ._()+-")
    return name


def parse_tags(raw: str | Iterable[str]) -> tuple[str, ...]:
    """Tags from a comma-separated string or a list: trimmed, de-duplicated, sorted, each checked."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    tags = tuple(sorted({t.strip() for t in items if t.strip()}))
    for t in tags:
        if not TAG_RE.match(t):
            raise UserError(f"invalid tag {quote_id(t)}: 1-128 of A-Z a-z 0-9 _ . : -")
    if len(tags) > MAX_TAGS:
        raise UserError(f"at most {MAX_TAGS} tags per document, not {len(tags)}")
    return tags


@dataclass(frozen=True, slots=True)
class DocumentChunks:
    """One document and its chunks in document order: how it was split."""

    document: DocumentInfo
    chunks: list[StoredChunk]


@dataclass(frozen=True, slots=True)
class Upload:
    """One uploaded file: the name it is stored under and its bytes (a readable binary stream)."""

    name: str
    stream: BinaryIO


def list_documents(
    state: ServiceState, key: ApiKey, tenant: str, limit: int, after: str | None, query: DocumentQuery | None = None
) -> DocumentPage:
    """A page of ``tenant``'s documents that ``key`` may read, matching ``query``."""
    if not state.index_exists():
        return DocumentPage([], False, None)
    with state.reader() as rw:
        page = document_page(rw.store, tenant, limit=limit, after=after, tags=key.tags, query=query)
    visible = [d for d in page.documents if key.scope.sees(d.tags)]  # the store applied the tags; say it again
    return DocumentPage(visible, page.has_more, page.next_cursor)


def document_chunks(state: ServiceState, key: ApiKey, tenant: str, doc_id: str) -> DocumentChunks | None:
    """The document and its chunks, or None when there is no such document the key may read."""
    if not state.index_exists():
        return None
    with state.reader() as rw:
        doc = rw.store.document(tenant, doc_id)
        if doc is None or not key.scope.sees(doc.tags):
            return None
        return DocumentChunks(doc, rw.store.chunks(tenant, doc_id))


def set_document_tags(
    state: ServiceState, key: ApiKey, tenant: str, doc_id: str, tags: Iterable[str]
) -> DocumentInfo | None:
    """Replace the document's tags; the updated document, or None when there is none the key may read.

    :class:`~ragwright.errors.AccessDenied` when a tag-limited key asks for tags outside its own, or for none (it
    could not read the document afterwards): the same rule as an upload that replaces the document."""
    wanted = parse_tags(tags)
    if not state.index_exists():
        return None
    with state.pool.write() as rw:
        doc = rw.store.document(tenant, doc_id)
        if doc is None or not key.scope.sees(doc.tags):
            return None
        key.scope.check_write(wanted, doc.tags, doc_id)
        if not rw.store.set_tags(tenant, doc_id, wanted):
            return None  # deleted in between
        return rw.store.document(tenant, doc_id)


def delete_document(state: ServiceState, key: ApiKey, tenant: str, doc_id: str) -> bool:
    """Remove the document and all its passages (and its text from the stored traces); False when there is no
    such document the key may read."""
    if not state.index_exists():
        return False
    with state.pool.write() as rw:
        doc = rw.store.document(tenant, doc_id)
        if doc is None or not key.scope.sees(doc.tags):  # a forbidden document gets the same answer as a missing one
            return False
        deleted = rw.store.delete(tenant, doc_id)
    purge_document(state.settings, tenant, doc_id)  # its text leaves the stored traces too
    return deleted


def submit_upload(
    state: ServiceState, key: ApiKey, kb: str, tenant: str, files: list[Upload], tags: tuple[str, ...]
) -> Job:
    """Save ``files`` (owner-only) under a new job's directory and queue the job; the worker process parses them.
    The caller has checked their number against ``service.max_upload_files`` (a 413, not a 400).

    ``tags`` were checked with :func:`parse_tags`; the key's own limits are applied here
    (:meth:`TagScope.upload_tags`) and travel with the job, which checks each document as it will be stored."""
    if not files:
        raise UserError("no files in the upload")
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        raise UserError("two files in the upload have the same name")
    doc_tags = key.scope.upload_tags(tags)  # AccessDenied: tags outside the key's
    job_id = state.jobs.new_id()
    job_dir = state.job_dir(job_id)
    try:
        _save(files, job_dir)
    except BaseException:
        shutil.rmtree(job_dir, ignore_errors=True)
        raise
    job = state.jobs.submit(
        Submission(
            job_id,
            tenant=key.tenant,
            kb=kb,
            store_tenant=tenant,
            job_dir=job_dir,
            files=tuple(names),
            tags=doc_tags,
            key_tags=key.tags,  # the worker checks every document against them as it will be stored
        )
    )
    state.metrics.jobs_pending.set(state.jobs.pending())
    return job


def _save(files: list[Upload], job_dir: Path) -> None:
    private_dir(job_dir)
    for upload in files:
        with open_private(job_dir / upload.name) as out:
            shutil.copyfileobj(upload.stream, out, 1 << 20)


def read_job(state: ServiceState, key: ApiKey, job_id: str) -> Job | None:
    """The job, or None when it is another tenant's, unknown, or submitted by a key whose tag scope this key's does
    not cover (its file names and failures are about documents this key may not be able to read)."""
    job = state.jobs.get(job_id, tenant=key.tenant)
    if job is None or not key.scope.covers(TagScope(job.key_tags)):
        return None
    return job
