"""What a citation points to, in its original: ``GET /v1/citations/source`` (the span located: a PDF page and the
rectangles to highlight, or the decoded text with the span's ranges) and ``GET /v1/citations/original`` (the stored
original itself: the PDF a viewer renders).

Both read like ``GET /v1/documents``: the key's tenant and knowledge base, and a tag-limited key sees only documents
carrying one of its tags; anything else is a 404, the same as a document that does not exist
(:mod:`ragwright.service.sources`).
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from ragwright.ingest.limits import ParseLimits
from ragwright.interfaces.http.auth import Principal, get_state, require_read
from ragwright.interfaces.http.errors import ApiError
from ragwright.interfaces.http.limits import run_blocking
from ragwright.interfaces.http.schemas import ERRORS
from ragwright.redact import quote_id
from ragwright.service.sources import CitedSource, cited_source, readable_original

router = APIRouter(tags=["documents"])
Reader = Annotated[Principal, Depends(require_read)]
KbQuery = Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Knowledge base.")]
DocQuery = Annotated[str, Query(min_length=1, max_length=1024, description="The citation's `doc_id`.")]


class RectOut(BaseModel):
    """A highlighted rectangle on a PDF page, in PDF points with the origin at the bottom left."""

    page: int
    left: float
    bottom: float
    right: float
    top: float


class MarkOut(BaseModel):
    """A highlighted range ``[start, end)`` of ``text``."""

    start: int
    end: int


class CitedSourceOut(BaseModel):
    """A cited span in its source: a PDF page with rectangles, or text with marked ranges."""

    object: Literal["cited_source"] = "cited_source"
    doc_id: str
    knowledge_base: str
    title: str
    file_type: str
    kind: Literal["pdf", "text", "chunk"]
    """pdf: render ``original_url`` at ``page`` and draw ``rects``; text: ``text`` is the original, ``marks`` the
    span; chunk: no original is kept, ``text`` is the cited passage (``note`` says why)."""
    heading_path: list[str]
    page: int | None
    highlighted: str
    """The text the highlight covers."""
    text: str
    marks: list[MarkOut]
    rects: list[RectOut]
    page_sizes: dict[str, tuple[float, float]]
    """Each highlighted page's width and height in PDF points, by page number."""
    html: str
    """A Markdown original rendered (raw HTML escaped, no images) with the span in ``<mark class="source-mark">``."""
    original_url: str | None
    note: str


def source_out(view: CitedSource, kb: str, original_url: str | None) -> CitedSourceOut:
    return CitedSourceOut(
        doc_id=view.doc_id,
        knowledge_base=kb,
        title=view.title,
        file_type=view.file_type,
        kind=view.kind.value,
        heading_path=list(view.heading_path),
        page=view.page,
        highlighted=view.highlighted,
        text=view.text,
        marks=[MarkOut(start=m.start, end=m.end) for m in view.marks],
        rects=[RectOut(page=r.page, left=r.left, bottom=r.bottom, right=r.right, top=r.top) for r in view.rects],
        page_sizes={str(k): v for k, v in view.page_sizes.items()},
        html=view.html,
        original_url=original_url,
        note=view.note,
    )


async def locate_citation(
    request: Request, principal: Principal, kb: str, doc_id: str, chunk_id: str, start: int, end: int, original: str
) -> CitedSourceOut:
    """The located span (404 when the key may not see it); ``original`` names the route that serves the PDF (the
    API's or the web UI's, each behind its own authentication)."""
    state = get_state(request)
    tenant = principal.store_tenant(kb)
    limits = ParseLimits.from_settings(state.settings)

    def locate() -> CitedSource | None:
        if not state.index_exists():
            return None
        with state.reader() as rw:
            return cited_source(rw.store, tenant, principal.key.scope, doc_id, chunk_id, start, end, limits)

    view = await run_blocking(locate, timeout=limits.wall_seconds + 10.0)
    if view is None:
        raise ApiError(404, "not_found", f"no passage {quote_id(chunk_id)} of document {quote_id(doc_id)} in {kb!r}")
    url = f"{request.app.url_path_for(original)}?{urlencode({'doc_id': doc_id, 'knowledge_base': kb})}"
    return source_out(view, kb, url if view.kind.value == "pdf" else None)


async def original_file(request: Request, principal: Principal, kb: str, doc_id: str) -> Response:
    """The stored original of a document the key may see, with headers that keep a browser from running it."""
    state = get_state(request)
    tenant = principal.store_tenant(kb)

    def read() -> tuple[str, bytes] | None:
        if not state.index_exists():
            return None
        with state.reader() as rw:
            found = readable_original(rw.store, tenant, principal.key.scope, doc_id)
        return (found.media_type, found.data) if found is not None else None

    got = await run_blocking(read, timeout=state.service.request_timeout)
    if got is None:
        raise ApiError(404, "not_found", f"no original of document {quote_id(doc_id)} in {kb!r}")
    media_type, data = got
    headers = {
        "Cache-Control": "private, max-age=300",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",  # opened directly, it can run nothing
        "Content-Disposition": "inline",
    }
    return Response(data, media_type=media_type, headers=headers)


ChunkQuery = Annotated[str, Query(pattern=r"^[0-9a-f]{1,64}$", description="The citation's `chunk_id`.")]
StartQuery = Annotated[int, Query(ge=0, description="The citation's `char_start`.")]
EndQuery = Annotated[int, Query(ge=1, description="The citation's `char_end`.")]


@router.get("/v1/citations/source", response_model=CitedSourceOut, responses=ERRORS)
async def citation_source(
    request: Request,
    principal: Reader,
    doc_id: DocQuery,
    chunk_id: ChunkQuery,
    start: StartQuery,
    end: EndQuery,
    knowledge_base: KbQuery = "default",
) -> CitedSourceOut:
    """Where a citation's span sits in the original document, to highlight it there."""
    return await locate_citation(
        request, principal, knowledge_base, doc_id, chunk_id, start, end, original="citation_original"
    )


@router.get(
    "/v1/citations/original",
    responses={**ERRORS, 200: {"description": "The original (a PDF, or the decoded text as UTF-8)."}},
)
async def citation_original(
    request: Request, principal: Reader, doc_id: DocQuery, knowledge_base: KbQuery = "default"
) -> Response:
    """The stored original of a document a citation points into (the PDF a viewer renders)."""
    return await original_file(request, principal, knowledge_base, doc_id)
