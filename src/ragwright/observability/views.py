"""A stored trace as one viewer may see it: what ``ragwright traces show`` draws and ``GET /v1/traces/{id}`` returns.

The trace store keeps chunk ids and scores, never chunk text (:mod:`.trace_store`). :func:`trace_view` reads the
text from the index, and only for documents the viewer may read (:class:`~ragwright.service.access.TagScope`): a
tag-limited key sees ``"hidden"`` in place of another document's id, chunk id and text, and message content only when
it may read every document the trace retrieved. A deleted document's text is gone from the index, so from every
trace too.

Example::

    detail = store.get(trace_id, tenant="acme")
    view = trace_view(detail, fetch=lambda tenant, ids: rw.store.get(tenant, ids), scope=TagScope(("public",)))
    view.to_dict()["chunks"][0]["text"]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from ragwright.observability import semconv
from ragwright.observability.trace_store import SpanRecord, TraceDetail, TraceSummary
from ragwright.service.access import TagScope
from ragwright.store.base import StoredChunk

__all__ = ["ChunkView", "TraceView", "leaf_uncovered_share", "summary_dict", "trace_view"]

HIDDEN = "hidden"
Fetch = Callable[[str, Sequence[str]], list[StoredChunk]]
"""Chunks of a store tenant by id (``Store.get``)."""
_HIT_PREFIX = "ragwright.hits."


@dataclass(frozen=True, slots=True)
class ChunkView:
    """One retrieved chunk: the span that retrieved it, its rank and score, and its text when the viewer may read it."""

    span_id: str
    rank: int
    score: float
    doc_id: str
    chunk_id: str
    text: str | None
    scores: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TraceView:
    """A trace for one viewer: summary, spans (content only where allowed), chunks, and the leaf-uncovered share."""

    summary: TraceSummary
    spans: list[dict[str, Any]]
    chunks: list[ChunkView]
    uncovered_share: float

    def to_dict(self) -> dict[str, Any]:
        return {
            **summary_dict(self.summary),
            "uncovered_share": round(self.uncovered_share, 4),
            "spans": self.spans,
            "chunks": [asdict(c) for c in self.chunks],
        }


def summary_dict(s: TraceSummary) -> dict[str, Any]:
    """A trace summary as JSON (the list view)."""
    return {
        "trace_id": s.trace_id,
        "tenant": s.tenant,
        "key_id": s.key_id,
        "root": s.root,
        "started_at": datetime.fromtimestamp(s.started_ns / 1e9, UTC).isoformat(),
        "duration_ms": round(s.duration_ms, 3),
        "spans": s.spans,
        "errors": s.errors,
        "cost_usd": s.cost_usd,
    }


def trace_view(detail: TraceDetail, *, fetch: Fetch | None, scope: TagScope | None) -> TraceView:
    """``detail`` as ``scope`` may see it (None: the local operator, who sees everything); ``fetch`` reads chunk text
    from the index (None: no text)."""
    tenant = detail.summary.tenant
    wanted: dict[str, set[str]] = {}
    for span in detail.spans:
        st = span.attributes.get(semconv.STORE_TENANT)
        if st is not None and _owned(str(st), tenant, scope):
            wanted.setdefault(str(st), set()).update(str(c) for c in span.attributes.get(semconv.HIT_CHUNKS) or ())
    found: dict[tuple[str, str], StoredChunk] = {}
    if fetch is not None:
        for st, ids in wanted.items():
            found.update({(st, c.chunk.id): c for c in fetch(st, sorted(ids))})
    chunks: list[ChunkView] = []
    all_visible = True
    for span in detail.spans:
        for chunk in _chunks(span, found, tenant, scope):
            all_visible = all_visible and chunk.doc_id != HIDDEN
            chunks.append(chunk)
    spans = [_span_dict(s, detail.summary.started_ns, show_content=all_visible) for s in detail.spans]
    return TraceView(detail.summary, spans, chunks, leaf_uncovered_share(detail.spans))


def _owned(store_tenant: str, tenant: str | None, scope: TagScope | None) -> bool:
    """Whether the chunks of ``store_tenant`` belong to the trace's tenant (its knowledge bases included)."""
    if scope is None:
        return True
    return tenant is not None and (store_tenant == tenant or store_tenant.startswith(tenant + "."))


def _chunks(
    span: SpanRecord, found: dict[tuple[str, str], StoredChunk], tenant: str | None, scope: TagScope | None
) -> list[ChunkView]:
    st = str(span.attributes.get(semconv.STORE_TENANT, ""))
    docs = span.attributes.get(semconv.HIT_DOCS) or []
    ids = span.attributes.get(semconv.HIT_CHUNKS) or []
    scores = span.attributes.get(semconv.HIT_SCORES) or []
    extra = {n: span.attributes.get(f"{_HIT_PREFIX}{n}") or [] for n in ("bm25", "dense", "rerank")}
    out: list[ChunkView] = []
    for i, (doc, cid, score) in enumerate(zip(docs, ids, scores, strict=False)):
        stored = found.get((st, str(cid)))
        # a deleted document (stored is None): its id to an unrestricted key, nothing to a tag-limited one
        visible = _owned(st, tenant, scope) and (
            scope is None or not scope.limited or (stored is not None and scope.sees(stored.tags))
        )
        if not visible:
            out.append(ChunkView(span.span_id, i + 1, float(score), HIDDEN, HIDDEN, None))
            continue
        sub = {n: _finite(v[i]) if i < len(v) else None for n, v in extra.items() if v}
        text = stored.chunk.text if stored is not None else None
        out.append(ChunkView(span.span_id, i + 1, float(score), str(doc), str(cid), text, sub))
    return out


def _finite(value: Any) -> float | None:
    f = float(value)
    return None if math.isnan(f) else f


def _span_dict(s: SpanRecord, origin_ns: int, *, show_content: bool) -> dict[str, Any]:
    attributes = {k: v for k, v in s.attributes.items() if not k.startswith(_HIT_PREFIX)}
    out: dict[str, Any] = {
        "span_id": s.span_id,
        "parent_id": s.parent_id,
        "name": s.name,
        "kind": s.kind,
        "start_ms": round((s.start_ns - origin_ns) / 1e6, 3),
        "duration_ms": round(s.duration_ms, 3),
        "status": s.status,
        "error": s.error or None,
        "attributes": attributes,
    }
    if s.content:
        out["content"] = s.content if show_content else HIDDEN
    return out


def leaf_uncovered_share(spans: Sequence[SpanRecord]) -> float:
    """The share of the root span's time that no leaf span covers (0: every moment is inside some leaf stage)."""
    if not spans:
        return 0.0
    ids = {s.span_id for s in spans}
    roots = [s for s in spans if s.parent_id is None or s.parent_id not in ids]
    root = max(roots, key=lambda s: s.end_ns - s.start_ns)
    wall = root.end_ns - root.start_ns
    if wall <= 0:
        return 0.0
    parents = {s.parent_id for s in spans}
    leaves = sorted(
        (max(s.start_ns, root.start_ns), min(s.end_ns, root.end_ns))
        for s in spans
        if s.span_id not in parents and s is not root
    )
    covered, reach = 0, root.start_ns
    for start, end in leaves:
        if end <= reach:
            continue
        covered += end - max(start, reach)
        reach = end
    return max(0.0, (wall - covered) / wall)
