"""The five MCP tools as plain async operations over :class:`~ragwright.app.Ragwright`, scoped to one API key.

Each operation validates nothing itself (the schemas did), runs the synchronous library call in a worker thread, and
returns a JSON-ready dict. Document text only ever travels as data in those dicts: nothing here interprets it.

Example::

    tools = RagTools(Ragwright(settings))
    result = await tools.search(key, SearchArgs(query="warranty", k=3))
    result["results"][0]["citation"]  # {'file': 'docs/kettle.md', 'heading': 'Kettle › Warranty', ...}
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
import numpy as np

from ragwright.answering.types import Answer, Citation, fallback_dict
from ragwright.app import Ragwright
from ragwright.errors import UserError
from ragwright.interfaces.http.job_api import Jobs, Submission, open_jobs
from ragwright.interfaces.http.schemas import PromptRefOut
from ragwright.interfaces.mcp.access import store_tenant
from ragwright.interfaces.mcp.schemas import AnswerArgs, GetDocumentArgs, IngestArgs, ListDocumentsArgs, SearchArgs
from ragwright.observability.requests import current_request_id
from ragwright.observability.tracing import current_trace_id
from ragwright.private_files import open_private, private_dir
from ragwright.redact import quote_id
from ragwright.retrieval.retriever import Hit
from ragwright.service.keys import ApiKey
from ragwright.service.pages import DocumentPage, decode_cursor, document_page
from ragwright.store.base import DocumentInfo, Filters, Store, StoredChunk

T = TypeVar("T")
SNIPPET_CHARS = 600
QUEUED_WAIT = 0.8
"""With ``[queue] enabled``, the share of ``service.request_timeout`` (from the call's start) an ``ingest`` call waits
for a worker to finish its job; after that it answers ``status: "queued"`` with the ``job_id`` (the job still runs)."""


class ToolFailure(UserError):
    """A tool call the caller can fix (unknown document, forbidden tag, bad file): reported as a tool error."""


async def _in_thread(fn: Callable[[], T], *, abandon_on_timeout: bool = True) -> T:
    """Run ``fn`` in a worker thread. Reads are abandoned when the call times out (the caller gets its error at once,
    the thread finishes on its own); writes are waited for, so an ingest is never reported before it settles."""
    return await anyio.to_thread.run_sync(fn, abandon_on_cancel=abandon_on_timeout)


def _snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _hit_citation(hit: Hit) -> dict[str, Any]:
    c = hit.chunk.chunk
    return {
        "file": hit.chunk.doc_path,
        "title": hit.chunk.doc_title,
        "heading": " › ".join(c.heading_path),
        "page": c.page,
        "chunk_id": c.id,
        "snippet": _snippet(c.text),
        "injection": hit.chunk.injection.value if hit.chunk.injection else None,
    }


def _answer_citation(c: Citation) -> dict[str, Any]:
    return {
        "n": c.n,
        "file": c.doc_path,
        "title": c.title,
        "heading": " › ".join(c.heading_path),
        "page": c.page,
        "location": c.location,
        "chunk_id": c.chunk_id,
        "snippet": _snippet(c.snippet),
    }


def _doc_info(d: DocumentInfo) -> dict[str, Any]:
    # `source` (a server-side path) is deliberately left out.
    return {
        "doc_id": d.doc_id,
        "title": d.title,
        "file_type": d.file_type,
        "tags": list(d.tags),
        "chunks": d.n_chunks,
        "ingested_at": d.ingested_at,
    }


def _glob_literal(text: str) -> str:
    """``text`` as a SQLite GLOB pattern that matches only itself."""
    return "".join(f"[{ch}]" if ch in "*?[" else ch for ch in text)


def document_chunks(store: Store, tenant: str, info: DocumentInfo) -> list[StoredChunk]:
    """Every chunk of one document, in order, through the Store protocol (a path filter that matches only it)."""
    if not info.n_chunks or store.embedding_dim is None:
        return []
    probe = np.zeros(store.embedding_dim, dtype=np.float32)
    scored = store.vector_search(tenant, probe, info.n_chunks, Filters(paths=(_glob_literal(info.doc_id),)))
    chunks = [c for c in store.get(tenant, [s.chunk_id for s in scored]) if c.chunk.doc_id == info.doc_id]
    return sorted(chunks, key=lambda c: c.chunk.ordinal)


def stitch(chunks: list[StoredChunk]) -> str:
    """The document text the chunks cover, overlaps removed (each chunk is an exact span of the original)."""
    out: list[str] = []
    end = 0
    for sc in chunks:
        c = sc.chunk
        if c.char_end <= end:
            continue
        if c.char_start >= end:
            out.append(("\n\n" if out and c.char_start > end else "") + c.text)
        else:
            out.append(c.text[end - c.char_start :])
        end = c.char_end
    return "".join(out)


class RagTools:
    """search, answer, list_documents, get_document and ingest for one :class:`Ragwright`, key by key."""

    def __init__(self, rw: Ragwright, *, max_ingest_bytes: int | None = None) -> None:
        self.rw = rw
        self.max_ingest_bytes = max_ingest_bytes or int(rw.settings.ingest.max_file_mb * 2**20)
        self._jobs: Jobs | None = None
        self._jobs_lock = threading.Lock()

    async def search(self, key: ApiKey, args: SearchArgs) -> dict[str, Any]:
        filters = key.scope.narrow(args.filters())
        out: dict[str, Any] = {"query": args.query, "knowledge_base": args.knowledge_base, "results": []}
        if filters is False:
            return out
        tenant = store_tenant(key, args.knowledge_base)
        result = await _in_thread(
            lambda: self.rw.search(args.query, tenant=tenant, k=args.k, mode=args.mode, filters=filters or None)
        )
        out["mode"] = result.mode
        out["results"] = [
            {"rank": h.rank, "score": round(h.score, 6), "text": h.chunk.chunk.text, "citation": _hit_citation(h)}
            for h in result.hits
        ]
        return out

    async def answer(self, key: ApiKey, args: AnswerArgs) -> dict[str, Any]:
        filters = key.scope.narrow(args.filters())
        if filters is False:
            return {
                "question": args.question,
                "answer": "The documents do not say.",
                "abstained": True,
                "support": 0.0,
                "citations": [],
                "closest": [],
                "answerability": None,
                "prompt": None,
                "trace_id": current_trace_id(),
            }
        tenant = store_tenant(key, args.knowledge_base)
        caller = key.caller(args.knowledge_base, request_id=current_request_id())
        ans: Answer = await _in_thread(
            lambda: self.rw.ask(args.question, tenant=tenant, filters=filters or None, caller=caller)
        )
        return {
            "question": ans.question,
            "answer": ans.text,
            "abstained": ans.abstained,
            "support": round(ans.support, 4),
            "answered_by": ans.answered_by.value,
            "model": ans.model,
            "abstention": ans.abstention.value if ans.abstention else None,
            "fallback": fallback_dict(ans.fallback),
            "citations": [_answer_citation(c) for c in ans.citations],
            "closest": [_answer_citation(c) for c in ans.closest],
            # as POST /v1/answer names and shapes them (AnswerOut)
            "answerability": ans.answerability,
            "prompt": PromptRefOut(name=ans.prompt.name, version=ans.prompt.version).model_dump()
            if ans.prompt
            else None,
            "trace_id": current_trace_id(),
        }

    def _document_page(self, key: ApiKey, args: ListDocumentsArgs, after: str | None) -> DocumentPage:
        store = self.rw.open_existing_store()
        return document_page(
            store, store_tenant(key, args.knowledge_base), limit=args.limit, after=after, tags=key.tags
        )

    async def list_documents(self, key: ApiKey, args: ListDocumentsArgs) -> dict[str, Any]:
        """One keyset page (see :mod:`ragwright.service.pages`); ``next_cursor`` is the ``cursor`` of the next."""
        after = decode_cursor(args.cursor) if args.cursor is not None else None
        page = await _in_thread(lambda: self._document_page(key, args, after))
        return {
            "knowledge_base": args.knowledge_base,
            "documents": [_doc_info(d) for d in page.documents if key.scope.sees(d.tags)],
            "has_more": page.has_more,
            "next_cursor": page.next_cursor,
        }

    def _get_document(self, key: ApiKey, args: GetDocumentArgs) -> dict[str, Any]:
        tenant = store_tenant(key, args.knowledge_base)
        store = self.rw.open_existing_store()
        info = store.document(tenant, args.doc_id)
        if info is None or not key.scope.sees(info.tags):  # a forbidden document reads as a missing one
            raise ToolFailure(f"no document {quote_id(args.doc_id)} in knowledge base {args.knowledge_base!r}")
        chunks = document_chunks(store, tenant, info)
        text = stitch(chunks)
        sections: list[dict[str, Any]] = []
        for sc in chunks:
            heading, page = " › ".join(sc.chunk.heading_path), sc.chunk.page
            if not sections or (sections[-1]["heading"], sections[-1]["page"]) != (heading, page):
                sections.append({"heading": heading, "page": page})
        return {
            **_doc_info(info),
            "sections": sections,
            "text": text[: args.max_chars],
            "truncated": len(text) > args.max_chars,
        }

    async def get_document(self, key: ApiKey, args: GetDocumentArgs) -> dict[str, Any]:
        return await _in_thread(lambda: self._get_document(key, args))

    def _ingest(self, key: ApiKey, args: IngestArgs) -> dict[str, Any]:
        settings = self.rw.settings  # a queued job waits for a worker: answer before the call's own deadline
        answer_by = (
            time.monotonic() + QUEUED_WAIT * settings.service.request_timeout if settings.queue.enabled else None
        )
        tags = key.scope.upload_tags(args.tags)  # AccessDenied (a UserError: a tool error) before anything is read
        data = self._decode(args)
        tenant = store_tenant(key, args.knowledge_base)
        # The file is parsed by the ingest worker process (limits, archive guard), never in this server process; with
        # [queue] enabled by a `ragwright worker`, as an HTTP upload is (interfaces/http/job_api.open_jobs).
        jobs = self._job_runner()
        job_id = jobs.new_id()
        job_dir = private_dir(self.rw.settings.data_dir / "uploads" / job_id)  # 0700/0600 like HTTP uploads
        with open_private(job_dir / args.filename) as out:
            out.write(data)
        jobs.submit(
            Submission(
                job_id,
                tenant=key.tenant,
                kb=args.knowledge_base,
                store_tenant=tenant,
                job_dir=job_dir,
                files=(args.filename,),
                tags=tags,
                key_tags=key.tags,  # the worker's guard: TagScope, on the document as stored and the one it replaces
            )
        )
        job = jobs.wait(job_id, timeout=None if answer_by is None else max(0.0, answer_by - time.monotonic()))
        if job is not None and not job.finished:
            return {
                "doc_id": args.filename,
                "knowledge_base": args.knowledge_base,
                "status": "queued",
                "job_id": job_id,
                "tags": list(tags),
                "chunks": 0,
            }
        if job is None or job.result is None:
            raise ToolFailure(f"cannot ingest {args.filename}: {job.error if job else 'the job was lost'}")
        failures = job.result.get("failures") or []
        if failures:
            raise ToolFailure(str(failures[0]["reason"]))  # the per-file reason, as an HTTP upload's job reports it
        stored = self.rw.store.document(tenant, args.filename)
        status = next((s for s in ("added", "updated", "unchanged") if job.result.get(s)), "unchanged")
        return {
            "doc_id": args.filename,
            "knowledge_base": args.knowledge_base,
            "status": status,
            "tags": list(stored.tags) if stored is not None else list(tags),
            "chunks": job.result.get("chunks_written", 0),
        }

    def _job_runner(self) -> Jobs:
        with self._jobs_lock:
            if self._jobs is None:
                self._jobs = open_jobs(self.rw.settings)
            return self._jobs

    def close(self) -> None:
        """Stop the ingest worker process, if one was started."""
        with self._jobs_lock:
            jobs, self._jobs = self._jobs, None
        if jobs is not None:
            jobs.close()

    def _decode(self, args: IngestArgs) -> bytes:
        if args.text is not None:
            data = args.text.encode("utf-8")
        else:
            try:
                data = base64.b64decode(args.content_base64 or "", validate=True)
            except (binascii.Error, ValueError):
                raise ToolFailure("content_base64 is not valid base64") from None
        if len(data) > self.max_ingest_bytes:
            raise ToolFailure(f"the document is {len(data)} bytes, over the {self.max_ingest_bytes} byte limit")
        return data

    async def ingest(self, key: ApiKey, args: IngestArgs) -> dict[str, Any]:
        return await _in_thread(lambda: self._ingest(key, args), abandon_on_timeout=False)
