"""Documents and ingest jobs: ``POST /v1/documents`` (multipart upload, ingested in the background), ``GET /v1/jobs``,
``GET /v1/jobs/{job_id}``, ``POST /v1/jobs/{job_id}/cancel``, ``GET /v1/documents`` (keyset pages, see
:mod:`ragwright.service.pages`; search by ``q``, filter by ``tag`` and ``file_type``), ``GET
/v1/documents/{doc_id}/chunks`` (how a document was split), ``PATCH /v1/documents/{doc_id}`` (replace its tags),
``DELETE /v1/documents/{doc_id}``. The rules live in :mod:`ragwright.interfaces.http.document_ops`, which the web UI
uses too.

An upload is saved under ``<data_dir>/uploads/<job_id>/`` and queued for the ingest worker process; the response is
``202`` with the job. Each file becomes a document whose id is its file name (uploading the same name again replaces
it). Files that cannot be ingested (unsupported type, corrupt, empty, too large) fail one by one with a reason in the
job's ``result.failures``; the rest are ingested. The key's tag limits travel with the job: the worker checks each
document as it will be stored (its front-matter tags included, and the document it would replace) with the same rule
as every other write path (:mod:`ragwright.service.access`).
"""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from ragwright.interfaces.http import document_ops as ops
from ragwright.interfaces.http.auth import Principal, get_state, require_read, require_write
from ragwright.interfaces.http.errors import ApiError
from ragwright.interfaces.http.limits import run_blocking
from ragwright.interfaces.http.schemas import (
    ERRORS,
    ChunkOut,
    Deleted,
    DocumentChunksOut,
    DocumentList,
    DocumentOut,
    JobList,
    JobOut,
    TagsIn,
)
from ragwright.redact import quote_id
from ragwright.service.access import TagScope
from ragwright.service.pages import DEFAULT_LIMIT, MAX_LIMIT, DocumentQuery, decode_cursor
from ragwright.store.base import DocumentInfo

router = APIRouter(tags=["documents"])
Reader = Annotated[Principal, Depends(require_read)]
Writer = Annotated[Principal, Depends(require_write)]
KbQuery = Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Knowledge base.")]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Documents per page (1-{MAX_LIMIT}).")]
AfterQuery = Annotated[str | None, Query(description="The `next_cursor` of the previous page (opaque).")]
TextQuery = Annotated[str, Query(max_length=200, description="Only documents whose id or title contains this.")]
TagQuery = Annotated[
    list[str], Query(max_length=ops.MAX_TAGS, description="Only documents carrying any of these tags (repeatable).")
]
TypeQuery = Annotated[list[str], Query(max_length=20, description="Only these file types, e.g. pdf, md (repeatable).")]


def document_out(d: DocumentInfo, kb: str) -> DocumentOut:
    return DocumentOut(
        id=d.doc_id,
        knowledge_base=kb,
        file_type=d.file_type,
        title=d.title,
        chunks=d.n_chunks,
        tags=list(d.tags),
        ingested_at=d.ingested_at,
    )


@router.post("/v1/documents", status_code=202, response_model=JobOut, responses=ERRORS)
async def upload(
    request: Request,
    principal: Writer,
    files: Annotated[list[UploadFile], File(description="One or more documents (md, txt, html, pdf, docx).")],
    knowledge_base: Annotated[str, Form(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = "default",
    tags: Annotated[str, Form(max_length=2000, description="Comma-separated tags for every file.")] = "",
) -> JSONResponse:
    """Upload documents; they are ingested by a background job (poll ``GET /v1/jobs/{id}``)."""
    state = get_state(request)
    tenant = principal.store_tenant(knowledge_base)
    if not files:
        raise ApiError(400, "bad_request", "no files in the upload")
    if len(files) > state.service.max_upload_files:
        raise ApiError(413, "payload_too_large", f"at most {state.service.max_upload_files} files per upload")
    uploads = [ops.Upload(ops.check_file_name(f.filename), f.file) for f in files]
    doc_tags = ops.parse_tags(tags)
    job = await run_blocking(
        ops.submit_upload,
        state,
        principal.key,
        knowledge_base,
        tenant,
        uploads,
        doc_tags,
        timeout=state.service.request_timeout,
    )
    return JSONResponse(job.to_dict(), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})


@router.get("/v1/jobs/{job_id}", response_model=JobOut, responses=ERRORS)
async def get_job(job_id: str, request: Request, principal: Reader) -> JobOut:
    """A job's status, progress and (when finished) its result with per-file reasons for failures."""
    job = ops.read_job(get_state(request), principal.key, job_id)
    if job is None:
        raise ApiError(404, "not_found", f"no job {quote_id(job_id)}")
    return JobOut.model_validate(job.to_dict())


@router.get("/v1/jobs", response_model=JobList, responses=ERRORS)
async def list_jobs(
    request: Request,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=1000, description="Jobs to return (1-1000).")] = 100,
) -> JobList:
    """The tenant's newest jobs, newest first: those whose tag scope the key covers (like ``GET /v1/jobs/{id}``)."""
    state = get_state(request)
    listing = functools.partial(state.jobs.for_tenant, tenant=principal.tenant, limit=limit)
    jobs = await run_blocking(listing, timeout=state.service.request_timeout)
    scope = principal.key.scope
    return JobList(data=[JobOut.model_validate(j.to_dict()) for j in jobs if scope.covers(TagScope(j.key_tags))])


@router.post("/v1/jobs/{job_id}/cancel", response_model=JobOut, responses=ERRORS)
async def cancel_job(job_id: str, request: Request, principal: Writer) -> JobOut:
    """Cancel a job: a waiting one at once; a running one is stopped by its worker (only with the ingest queue), which
    then records ``cancelled`` with what the index holds. 409 if the job has ended or cannot be stopped here."""
    state = get_state(request)
    job = state.jobs.get(job_id, tenant=principal.tenant)
    if job is None or not principal.key.scope.covers(TagScope(job.key_tags)):
        raise ApiError(404, "not_found", f"no job {quote_id(job_id)}")
    cancel = functools.partial(state.jobs.cancel, job_id, tenant=principal.tenant)
    cancelled = await run_blocking(cancel, timeout=state.service.request_timeout)
    if cancelled is None:
        raise ApiError(404, "not_found", f"no job {quote_id(job_id)}")
    return JobOut.model_validate(cancelled.to_dict())


@router.get("/v1/documents", response_model=DocumentList, responses=ERRORS)
async def list_documents(
    request: Request,
    principal: Reader,
    knowledge_base: KbQuery = "default",
    limit: LimitQuery = DEFAULT_LIMIT,
    after: AfterQuery = None,
    q: TextQuery = "",
    tag: TagQuery = [],  # noqa: B006 (FastAPI copies query defaults)
    file_type: TypeQuery = [],  # noqa: B006
) -> DocumentList:
    """Documents of a knowledge base that the key may read, in id order, one page at a time (keyset pagination:
    pass the response's ``next_cursor`` as ``after`` while ``has_more`` is true). ``q``, ``tag`` and ``file_type``
    narrow the list; a narrowed page may hold fewer than ``limit`` documents while ``has_more`` is true."""
    state = get_state(request)
    tenant = principal.store_tenant(knowledge_base)
    start = decode_cursor(after) if after is not None else None
    query = DocumentQuery(q.strip(), ops.parse_tags(tag), tuple(t.strip().lower() for t in file_type if t.strip()))
    page = await run_blocking(
        ops.list_documents,
        state,
        principal.key,
        tenant,
        limit,
        start,
        query,
        timeout=state.service.request_timeout,
    )
    return DocumentList(
        data=[document_out(d, knowledge_base) for d in page.documents],
        has_more=page.has_more,
        next_cursor=page.next_cursor,
    )


@router.get("/v1/documents/{doc_id:path}/chunks", response_model=DocumentChunksOut, responses=ERRORS)
async def document_chunks(
    doc_id: str, request: Request, principal: Reader, knowledge_base: KbQuery = "default"
) -> DocumentChunksOut:
    """How a document was split: its chunks in order, each with its heading path, page and character span."""
    state = get_state(request)
    tenant = principal.store_tenant(knowledge_base)
    found = await run_blocking(
        ops.document_chunks, state, principal.key, tenant, doc_id, timeout=state.service.request_timeout
    )
    if found is None:
        raise ApiError(404, "not_found", f"no document {quote_id(doc_id)} in knowledge base {knowledge_base!r}")
    return DocumentChunksOut(
        document=document_out(found.document, knowledge_base),
        chunks=[ChunkOut.from_stored(c) for c in found.chunks],
    )


@router.patch("/v1/documents/{doc_id:path}", response_model=DocumentOut, responses=ERRORS)
async def set_tags(
    doc_id: str, body: TagsIn, request: Request, principal: Writer, knowledge_base: KbQuery = "default"
) -> DocumentOut:
    """Replace a document's tags (a tag-limited key may only give its own tags, and at least one)."""
    state = get_state(request)
    tenant = principal.store_tenant(knowledge_base)
    doc = await run_blocking(
        ops.set_document_tags, state, principal.key, tenant, doc_id, body.tags, timeout=state.service.request_timeout
    )
    if doc is None:
        raise ApiError(404, "not_found", f"no document {quote_id(doc_id)} in knowledge base {knowledge_base!r}")
    return document_out(doc, knowledge_base)


@router.delete("/v1/documents/{doc_id:path}", response_model=Deleted, responses=ERRORS)
async def delete_document(
    doc_id: str, request: Request, principal: Writer, knowledge_base: KbQuery = "default"
) -> Deleted:
    """Remove a document and all its passages."""
    state = get_state(request)
    tenant = principal.store_tenant(knowledge_base)
    deleted = await run_blocking(
        ops.delete_document, state, principal.key, tenant, doc_id, timeout=state.service.request_timeout
    )
    if not deleted:
        raise ApiError(404, "not_found", f"no document {quote_id(doc_id)} in knowledge base {knowledge_base!r}")
    return Deleted(id=doc_id)
