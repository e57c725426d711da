"""Documents and ingest jobs: ``POST /v1/documents`` (multipart upload, ingested in the background),
``GET /v1/jobs``, ``GET /v1/jobs/{job_id}``, ``POST /v1/jobs/{job_id}/cancel``, ``GET /v1/documents`` (keyset
pages, see :mod:`ragwright.service.pages`), ``DELETE /v1/documents/{doc_id}``.

An upload is saved under ``<data_dir>/uploads/<job_id>/`` and queued for the ingest worker process; the response is
``202`` with the job. Each file becomes a document whose id is its file name (uploading the same name again replaces
it). Files that cannot be ingested (unsupported type, corrupt, empty, too large) fail one by one with a reason in the
job's ``result.failures``; the rest are ingested. The key's tag limits travel with the job: the worker checks each
document as it will be stored (its front-matter tags included, and the document it would replace) with the same rule
as every other write path (:mod:`ragwright.service.access`).
"""

from __future__ import annotations

import functools
import re
import shutil
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from ragwright.errors import AccessDenied
from ragwright.interfaces.http.auth import Principal, get_state, require_read, require_write
from ragwright.interfaces.http.errors import ApiError
from ragwright.interfaces.http.limits import run_blocking
from ragwright.interfaces.http.schemas import ERRORS, Deleted, DocumentList, DocumentOut, JobList, JobOut
from ragwright.interfaces.http.state import ServiceState
from ragwright.observability.trace_store import purge_document
from ragwright.private_files import open_private, private_dir
from ragwright.service.access import TagScope
from ragwright.service.pages import DEFAULT_LIMIT, MAX_LIMIT, DocumentPage, decode_cursor, document_page

router = APIRouter(tags=["documents"])
Reader = Annotated[Principal, Depends(require_read)]
Writer = Annotated[Principal, Depends(require_write)]
KbQuery = Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Knowledge base.")]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Documents per page (1-{MAX_LIMIT}).")]
AfterQuery = Annotated[str | None, Query(description="The `next_cursor` of the previous page (opaque).")]
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._()+-]{0,199}$")
_TAG_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def _safe_name(raw: str | None) -> str:
    name = PureWindowsPath(PurePosixPath(raw or "").name).name.strip()
    if not _NAME_RE.match(name) or ".." in name:
        raise ApiError(400, "bad_request", f"unusable file name {raw!r}: use letters, digits, space and ._()+-")
    return name


def _tags(raw: str, principal: Principal) -> tuple[str, ...]:
    tags = tuple(sorted({t.strip() for t in raw.split(",") if t.strip()}))
    for t in tags:
        if not _TAG_RE.match(t):
            raise ApiError(400, "bad_request", f"invalid tag {t!r}: 1-128 of A-Z a-z 0-9 _ . : -")
    try:
        return principal.key.scope.upload_tags(tags)
    except AccessDenied as err:
        raise ApiError(403, "forbidden", str(err)) from None


def _save(files: list[UploadFile], names: list[str], job_dir: Path) -> None:
    private_dir(job_dir)
    for upload, name in zip(files, names, strict=True):
        with open_private(job_dir / name) as out:
            shutil.copyfileobj(upload.file, out, 1 << 20)


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
    names = [_safe_name(f.filename) for f in files]
    if len(set(names)) != len(names):
        raise ApiError(400, "bad_request", "two files in the upload have the same name")
    doc_tags = _tags(tags, principal)
    job_id = state.jobs.new_id()
    job_dir = state.job_dir(job_id)
    try:
        await run_blocking(_save, files, names, job_dir, timeout=state.service.request_timeout)
    except BaseException:
        shutil.rmtree(job_dir, ignore_errors=True)
        raise
    job = state.jobs.submit(
        job_id,
        tenant=principal.tenant,
        kb=knowledge_base,
        store_tenant=tenant,
        job_dir=job_dir,
        files=names,
        tags=doc_tags,
        key_tags=principal.key.tags,  # the worker checks every document against them as it will be stored
    )
    state.metrics.jobs_pending.set(state.jobs.pending())
    return JSONResponse(job.to_dict(), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})


@router.get("/v1/jobs/{job_id}", response_model=JobOut, responses=ERRORS)
async def get_job(job_id: str, request: Request, principal: Reader) -> JobOut:
    """A job's status, progress and (when finished) its result with per-file reasons for failures."""
    state = get_state(request)
    job = state.jobs.get(job_id, tenant=principal.tenant)
    # another tag scope's job reads like an unknown one: its file names and failures are about documents this key
    # may not be able to read (service.access.TagScope.covers)
    if job is None or not principal.key.scope.covers(TagScope(job.key_tags)):
        raise ApiError(404, "not_found", f"no job {job_id}")
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
        raise ApiError(404, "not_found", f"no job {job_id}")
    cancel = functools.partial(state.jobs.cancel, job_id, tenant=principal.tenant)
    cancelled = await run_blocking(cancel, timeout=state.service.request_timeout)
    if cancelled is None:
        raise ApiError(404, "not_found", f"no job {job_id}")
    return JobOut.model_validate(cancelled.to_dict())


def _documents(state: ServiceState, principal: Principal, tenant: str, limit: int, after: str | None) -> DocumentPage:
    if not state.index_exists():
        return DocumentPage([], False, None)
    with state.reader() as rw:
        return document_page(rw.store, tenant, limit=limit, after=after, tags=principal.key.tags)


@router.get("/v1/documents", response_model=DocumentList, responses=ERRORS)
async def list_documents(
    request: Request,
    principal: Reader,
    knowledge_base: KbQuery = "default",
    limit: LimitQuery = DEFAULT_LIMIT,
    after: AfterQuery = None,
) -> DocumentList:
    """Documents of a knowledge base that the key may read, in id order, one page at a time (keyset pagination:
    pass the response's ``next_cursor`` as ``after`` while ``has_more`` is true)."""
    state = get_state(request)
    tenant = principal.store_tenant(knowledge_base)
    start = decode_cursor(after) if after is not None else None
    page = await run_blocking(_documents, state, principal, tenant, limit, start, timeout=state.service.request_timeout)
    return DocumentList(
        data=[
            DocumentOut(
                id=d.doc_id,
                knowledge_base=knowledge_base,
                file_type=d.file_type,
                title=d.title,
                chunks=d.n_chunks,
                tags=list(d.tags),
                ingested_at=d.ingested_at,
            )
            for d in page.documents
            if principal.may_see(d)
        ],
        has_more=page.has_more,
        next_cursor=page.next_cursor,
    )


def _delete(state: ServiceState, principal: Principal, tenant: str, doc_id: str) -> bool:
    if not state.index_exists():
        return False
    with state.pool.write() as rw:
        doc = rw.store.document(tenant, doc_id)
        if doc is None or not principal.may_see(doc):  # a forbidden document gets the same 404 as a missing one
            return False
        deleted = rw.store.delete(tenant, doc_id)
    purge_document(state.settings, tenant, doc_id)  # its text leaves the stored traces too
    return deleted


@router.delete("/v1/documents/{doc_id:path}", response_model=Deleted, responses=ERRORS)
async def delete_document(
    doc_id: str, request: Request, principal: Writer, knowledge_base: KbQuery = "default"
) -> Deleted:
    """Remove a document and all its passages."""
    state = get_state(request)
    tenant = principal.store_tenant(knowledge_base)
    if not await run_blocking(_delete, state, principal, tenant, doc_id, timeout=state.service.request_timeout):
        raise ApiError(404, "not_found", f"no document {doc_id!r} in knowledge base {knowledge_base!r}")
    return Deleted(id=doc_id)
