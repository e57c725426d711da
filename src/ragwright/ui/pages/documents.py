"""The Documents page: upload (drag and drop or a file input, one request per file so each has its own progress and
failure reason), ingest jobs followed live, the list with search and filters by tag and type, a document's chunks,
its tags, and delete behind a confirmation dialog.

Every read and write goes through :mod:`ragwright.interfaces.http.document_ops`, the code the JSON API uses, so the
key's tenant, scopes and tags are applied the same way. Uploaded files are parsed by the ingest worker process, as
for ``POST /v1/documents``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ragwright.errors import RagwrightError, UserError
from ragwright.errors_http import http_error
from ragwright.interfaces.http import document_ops as ops
from ragwright.interfaces.http.auth import get_state
from ragwright.interfaces.http.limits import run_blocking
from ragwright.interfaces.http.state import ServiceState
from ragwright.service.kbs import DEFAULT_KB, check_kb_name
from ragwright.service.pages import DocumentQuery, decode_cursor
from ragwright.ui.auth import UiUser, ui_read, ui_write
from ragwright.ui.render import render

router = APIRouter()
PAGE_SIZE = 50
FILE_TYPES = ("md", "txt", "html", "pdf", "docx")
KbParam = Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def knowledge_bases(state: ServiceState, tenant: str) -> list[str]:
    """The tenant's knowledge bases for the picker, ``default`` first."""
    return list(dict.fromkeys([DEFAULT_KB, *state.kbs.list(tenant)]))


def iso_time(epoch: float) -> str:
    """A timestamp as UTC ISO 8601 to the second (the page's script shows it in the reader's time zone)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error_text(exc: BaseException) -> str:
    return http_error(exc).message


@router.get("/documents", response_class=HTMLResponse)
async def documents(
    request: Request,
    user: Annotated[UiUser, Depends(ui_read)],
    kb: KbParam = DEFAULT_KB,
    q: Annotated[str, Query(max_length=200)] = "",
    tag: Annotated[str, Query(max_length=128)] = "",
    type: Annotated[str, Query(max_length=10)] = "",  # noqa: A002 (the query parameter's name)
    after: Annotated[str | None, Query(max_length=4096)] = None,
) -> HTMLResponse:
    state = get_state(request)
    context = await _list_context(state, user, kb, q, tag, type, after)
    return render(
        request,
        "documents/index.html",
        user,
        section="documents",
        title="Documents",
        kbs=await run_blocking(knowledge_bases, state, user.key.tenant, timeout=state.service.request_timeout),
        max_upload_mb=state.service.max_upload_mb,
        file_types=FILE_TYPES,
        deleted=request.query_params.get("deleted", "")[:1000],
        **context,
    )


@router.get("/documents/list", response_class=HTMLResponse)
async def documents_list(
    request: Request,
    user: Annotated[UiUser, Depends(ui_read)],
    kb: KbParam = DEFAULT_KB,
    q: Annotated[str, Query(max_length=200)] = "",
    tag: Annotated[str, Query(max_length=128)] = "",
    type: Annotated[str, Query(max_length=10)] = "",  # noqa: A002
    after: Annotated[str | None, Query(max_length=4096)] = None,
) -> HTMLResponse:
    """The list alone (refreshed by the page's script when an upload has finished)."""
    state = get_state(request)
    context = await _list_context(state, user, kb, q, tag, type, after)
    return render(request, "documents/_list.html", user, section="documents", title="Documents", **context)


async def _list_context(
    state: ServiceState, user: UiUser, kb: str, q: str, tag: str, file_type: str, after: str | None
) -> dict[str, Any]:
    tenant = user.principal.store_tenant(kb)
    error = ""
    try:
        query = DocumentQuery(q.strip(), ops.parse_tags(tag), (file_type,) if file_type else ())
        start = decode_cursor(after) if after else None
        page = await run_blocking(
            ops.list_documents, state, user.key, tenant, PAGE_SIZE, start, query, timeout=state.service.request_timeout
        )
        docs, next_cursor = page.documents, page.next_cursor
    except UserError as exc:
        error, docs, next_cursor = str(exc), [], None
    filters = {"kb": kb, "q": q, "tag": tag, "type": file_type}
    more = f"/documents?{urlencode({**filters, 'after': next_cursor})}" if next_cursor else ""
    return {
        "kb": kb,
        "q": q,
        "tag": tag,
        "type": file_type,
        "docs": docs,
        "times": {d.doc_id: iso_time(d.ingested_at) for d in docs},
        "more_url": more,
        "list_error": error,
        "filtered": bool(q or tag or file_type),
        "can_write": user.allows("write"),
    }


@router.post("/documents/upload")
async def upload(
    request: Request,
    user: Annotated[UiUser, Depends(ui_write)],
    file: Annotated[UploadFile, File()],
    kb: Annotated[str, Form()] = DEFAULT_KB,
    tags: Annotated[str, Form(max_length=2000)] = "",
) -> JSONResponse:
    """One file of an upload (the page sends each file on its own): its ingest job, or why it was refused."""
    state = get_state(request)
    try:
        tenant = user.principal.store_tenant(check_kb_name(kb))
        upload = ops.Upload(ops.check_file_name(file.filename), file.file)
        job = await run_blocking(
            ops.submit_upload,
            state,
            user.key,
            kb,
            tenant,
            [upload],
            ops.parse_tags(tags),
            timeout=state.service.request_timeout,
        )
    except RagwrightError as exc:
        err = http_error(exc)
        return JSONResponse({"error": err.message}, status_code=err.status)
    return JSONResponse({"job": job.to_dict()}, status_code=202)


@router.get("/documents/jobs/{job_id}")
async def job_status(request: Request, job_id: str, user: Annotated[UiUser, Depends(ui_read)]) -> JSONResponse:
    """An upload's job (polled by the page until it has finished)."""
    job = ops.read_job(get_state(request), user.key, job_id)
    if job is None:
        return JSONResponse({"error": f"no job {job_id}"}, status_code=404)
    return JSONResponse({"job": job.to_dict()})


@router.get("/documents/doc/{doc_id:path}", response_class=HTMLResponse)
async def document(
    request: Request, doc_id: str, user: Annotated[UiUser, Depends(ui_read)], kb: KbParam = DEFAULT_KB
) -> HTMLResponse:
    """One document: its facts, its tags (editable with the write scope) and its chunks in order."""
    state = get_state(request)
    tenant = user.principal.store_tenant(kb)
    found = await run_blocking(
        ops.document_chunks, state, user.key, tenant, doc_id, timeout=state.service.request_timeout
    )
    if found is None:
        return render(
            request,
            "error.html",
            user,
            status_code=404,
            section="documents",
            title="Not found",
            message=f"No document {doc_id!r} in knowledge base {kb!r}.",
        )
    return render(
        request,
        "documents/document.html",
        user,
        section="documents",
        title=found.document.title or doc_id,
        kb=kb,
        doc=found.document,
        chunks=found.chunks,
        can_write=user.allows("write"),
        tag_error=request.query_params.get("tag_error", ""),
    )


@router.post("/documents/tags")
async def set_tags(
    request: Request,
    user: Annotated[UiUser, Depends(ui_write)],
    doc_id: Annotated[str, Form(max_length=1000)],
    kb: Annotated[str, Form()] = DEFAULT_KB,
    tags: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Replace a document's tags, then back to the document (with the reason when it was refused)."""
    state = get_state(request)
    page = f"/documents/doc/{doc_id}?{urlencode({'kb': kb})}"
    try:
        tenant = user.principal.store_tenant(check_kb_name(kb))
        doc = await run_blocking(
            ops.set_document_tags,
            state,
            user.key,
            tenant,
            doc_id,
            ops.parse_tags(tags),
            timeout=state.service.request_timeout,
        )
    except RagwrightError as exc:
        return RedirectResponse(f"{page}&{urlencode({'tag_error': _error_text(exc)})}", status_code=303)
    if doc is None:
        return render(
            request, "error.html", user, status_code=404, title="Not found", message=f"No document {doc_id!r}."
        )
    return RedirectResponse(page, status_code=303)


@router.post("/documents/delete")
async def delete(
    request: Request,
    user: Annotated[UiUser, Depends(ui_write)],
    doc_id: Annotated[str, Form(max_length=1000)],
    kb: Annotated[str, Form()] = DEFAULT_KB,
) -> Response:
    """Delete a document (the page asked for confirmation first), then back to the list."""
    state = get_state(request)
    tenant = user.principal.store_tenant(check_kb_name(kb))
    deleted = await run_blocking(
        ops.delete_document, state, user.key, tenant, doc_id, timeout=state.service.request_timeout
    )
    if not deleted:
        return render(
            request, "error.html", user, status_code=404, title="Not found", message=f"No document {doc_id!r}."
        )
    return RedirectResponse(f"/documents?{urlencode({'kb': kb, 'deleted': doc_id})}", status_code=303)
