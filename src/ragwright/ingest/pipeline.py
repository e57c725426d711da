"""The ingest pipeline: discover → skip unchanged → load → chunk → embed (batched across documents) → upsert.

Incremental by construction:
- a file whose bytes hash to the stored ``content_hash`` is skipped before it is parsed (the hash carries the
  loaders' extraction version, so a ragwright whose loaders read the same bytes differently re-extracts it);
- a changed file is re-chunked, and every chunk whose exact indexed text was embedded before (in any document of the
  tenant) reuses its stored vector, so only new text is embedded; within a run each distinct text is embedded once
  (the same text in one batch, or in the batch still being embedded, shares that one vector);
- each document is written in one store transaction, so a crash (even SIGKILL) leaves every document either in its
  old or its new state, and the next run finishes the job;
- with ``prune``, documents that lived under an ingested root and are gone from disk are deleted.

Bad input never stops the run: each failure is recorded with its reason in :class:`IngestReport`.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from ragwright.config import Settings
from ragwright.documents.beir import iter_beir_corpus
from ragwright.documents.chunker import chunk_document
from ragwright.documents.loaders import load_file
from ragwright.documents.model import Chunk, Document, source_hash
from ragwright.errors import AccessDenied, IngestError
from ragwright.ingest.discover import Source, discover
from ragwright.models.base import Embedder
from ragwright.observability import semconv, tracing
from ragwright.observability.trace_store import purge_document
from ragwright.store.base import DocumentInfo, Store

Status = Literal["added", "updated", "unchanged", "failed", "removed"]


@dataclass(slots=True)
class FileOutcome:
    """What ingest did with one file (added, updated, unchanged, failed, removed) and why."""

    doc_id: str
    status: Status
    chunks: int = 0
    reason: str = ""


@dataclass(slots=True)
class IngestReport:
    """The outcome of an ingest run: one entry per file, chunks embedded and reused, duration."""

    outcomes: list[FileOutcome] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_reused: int = 0
    seconds: float = 0.0

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failures(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def chunks_written(self) -> int:
        return sum(o.chunks for o in self.outcomes if o.status in ("added", "updated"))

    def summary(self) -> dict[str, object]:
        return {
            "added": self.count("added"),
            "updated": self.count("updated"),
            "unchanged": self.count("unchanged"),
            "removed": self.count("removed"),
            "failed": self.count("failed"),
            "chunks_written": self.chunks_written,
            "chunks_embedded": self.chunks_embedded,
            "chunks_reused": self.chunks_reused,
            "seconds": round(self.seconds, 3),
            "failures": [{"path": o.doc_id, "reason": o.reason} for o in self.failures],
        }


@dataclass(frozen=True, slots=True)
class Progress:
    """What a progress display needs; emitted after every file and every embedded batch."""

    files_done: int
    files_total: int
    chunks_embedded: int
    current: str


ProgressCallback = Callable[[Progress], None]
WriteGuard = Callable[[Document, DocumentInfo | None], None]
"""Checks one document before it is written; raises :class:`AccessDenied` to refuse it (see ``service.access``)."""


@dataclass(slots=True)
class _Pending:
    doc: Document
    chunks: list[Chunk]
    vectors: list[npt.NDArray[np.float32] | None]
    status: Status


@dataclass(slots=True)
class _InFlight:
    """A batch whose vectors are being computed in the embedding thread."""

    pending: list[_Pending]
    embedded: Future[tuple[int, int]]


class Ingestor:
    """Runs ingest for one tenant into one store with one embedder.

    Example::

        report = Ingestor(store, embedder, settings).ingest([Path("docs")], tenant="acme", prune=True)
        print(report.summary())
    """

    def __init__(
        self, store: Store, embedder: Embedder, settings: Settings, progress: ProgressCallback | None = None
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.progress = progress
        self._recent: dict[str, npt.NDArray[np.float32]] = {}
        """Text hash -> vector, of the batch embedded last (touched only by the embedding thread, one at a time)."""
        store.bind_embedder(embedder.name, embedder.dim)

    # -- public ------------------------------------------------------------------------------------------------

    def ingest(
        self,
        roots: Sequence[Path],
        *,
        tenant: str,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        prune: bool = False,
        tags: tuple[str, ...] = (),
    ) -> IngestReport:
        with tracing.stage("ingest", {semconv.STORE_TENANT: tenant}) as span:
            report = self._ingest(roots, tenant, include, exclude, prune, tags)
            span.set_attribute("ragwright.ingest.files", len(report.outcomes))
            return report

    def _ingest(
        self,
        roots: Sequence[Path],
        tenant: str,
        include: Sequence[str],
        exclude: Sequence[str],
        prune: bool,
        tags: tuple[str, ...],
    ) -> IngestReport:
        started = time.perf_counter()
        sources = list(
            discover(
                roots,
                include=include,
                exclude=[*self.settings.ingest.exclude, *exclude],
                base=self.settings.data_dir.resolve().parent,
            )
        )
        known = {d.doc_id: d for d in self.store.documents(tenant)}
        report = IngestReport()
        seen: set[str] = set()
        docs = self._load_changed(sources, known, report, seen, tags)
        self._index(docs, tenant, report, files_total=len(sources))
        if prune:
            self._prune(tenant, [r.resolve() for r in roots], known, seen, report)
        report.seconds = time.perf_counter() - started
        return report

    def _prune(
        self, tenant: str, roots: list[Path], known: dict[str, DocumentInfo], seen: set[str], report: IngestReport
    ) -> None:
        """Delete documents that lived under one of ``roots`` and were not seen by this run."""
        for info in known.values():
            if info.doc_id in seen:
                continue
            path = Path(info.source.split("#", 1)[0])  # BEIR records are "corpus.jsonl#id"
            if any(path == r or r in path.parents for r in roots):
                self.store.delete(tenant, info.doc_id)
                purge_document(self.settings, tenant, info.doc_id)
                report.outcomes.append(FileOutcome(info.doc_id, "removed"))

    def ingest_documents(
        self, documents: Iterable[Document], *, tenant: str, total: int = 0, guard: WriteGuard | None = None
    ) -> IngestReport:
        """Index already-loaded documents (BEIR corpora, uploads); unchanged ones are skipped by content hash.

        ``guard(doc, existing)`` runs before anything else is decided about each document (``existing``: the stored
        document with its id, or None); an :class:`AccessDenied` it raises fails that document with its reason."""
        started = time.perf_counter()
        report = IngestReport()

        def changed() -> Iterator[tuple[Document, Status]]:
            for doc in documents:  # one indexed lookup each: an upload into a large tenant does not list it
                info = self.store.document(tenant, doc.doc_id)
                if guard is not None:
                    try:
                        guard(doc, info)
                    except AccessDenied as err:
                        report.outcomes.append(FileOutcome(doc.doc_id, "failed", reason=str(err)))
                        continue
                old = info.content_hash if info is not None else None
                if old == doc.content_hash:
                    report.outcomes.append(FileOutcome(doc.doc_id, "unchanged"))
                    continue
                yield doc, ("updated" if old else "added")

        with tracing.stage("ingest", {semconv.STORE_TENANT: tenant}):
            self._index(changed(), tenant, report, files_total=total)
        report.seconds = time.perf_counter() - started
        return report

    # -- steps -------------------------------------------------------------------------------------------------

    def _load_changed(
        self,
        sources: list[Source],
        known: dict[str, DocumentInfo],
        report: IngestReport,
        seen: set[str],
        tags: tuple[str, ...],
    ) -> Iterator[tuple[Document, Status]]:
        max_bytes = int(self.settings.ingest.max_file_mb * 2**20)
        for src in sources:
            if src.path.suffix.lower() == ".jsonl":
                yield from self._load_jsonl(src, known, report, seen)
                continue
            seen.add(src.doc_id)
            old = known.get(src.doc_id)
            try:
                if (
                    old is not None
                    and src.path.stat().st_size <= max_bytes
                    and source_hash(src.path.read_bytes()) == old.content_hash
                ):
                    report.outcomes.append(FileOutcome(src.doc_id, "unchanged"))
                    self._emit(report, len(sources), src.doc_id)
                    continue
                with tracing.stage("load", {"ragwright.file_type": src.path.suffix.lower().lstrip(".")}):
                    doc = load_file(src.path, src.doc_id, max_bytes=max_bytes, tags=tags)
            except IngestError as err:
                report.outcomes.append(FileOutcome(src.doc_id, "failed", reason=err.reason))
                continue
            except OSError as err:
                report.outcomes.append(FileOutcome(src.doc_id, "failed", reason=f"cannot read: {err.strerror}"))
                continue
            except Exception as err:  # a parser bug on a strange file must not stop the run
                report.outcomes.append(
                    FileOutcome(src.doc_id, "failed", reason=f"could not parse ({type(err).__name__}: {err})")
                )
                continue
            yield doc, ("updated" if old is not None else "added")

    def _load_jsonl(
        self, src: Source, known: dict[str, DocumentInfo], report: IngestReport, seen: set[str]
    ) -> Iterator[tuple[Document, Status]]:
        def bad(err: IngestError) -> None:
            report.outcomes.append(FileOutcome(err.path, "failed", reason=err.reason))

        for doc in iter_beir_corpus(src.path, on_error=bad):
            doc.doc_id = f"{src.doc_id}#{doc.doc_id}"
            seen.add(doc.doc_id)
            old = known.get(doc.doc_id)
            if old is not None and old.content_hash == doc.content_hash:
                report.outcomes.append(FileOutcome(doc.doc_id, "unchanged"))
                continue
            yield doc, ("updated" if old is not None else "added")

    def _index(
        self, docs: Iterable[tuple[Document, Status]], tenant: str, report: IngestReport, files_total: int
    ) -> None:
        """Chunk, then embed in batches that span documents (full batches are what make the embedder fast).

        A batch is embedded in a background thread while this thread writes the previous batch and chunks the next
        one, so a remote embedder's latency overlaps the local work (chunking, postings, store writes). Writes,
        outcomes and progress stay in this thread, batches written in order. A chunk reuses a vector stored by a
        batch written before it was chunked; identical text in the batch still in flight, which the store does not
        hold yet, is taken from that batch's vectors instead (:meth:`_embed`)."""
        batch = self.settings.ingest.embed_batch
        self._recent = {}
        pending: list[_Pending] = []
        todo = 0
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ragwright-embed") as embedding:
            inflight: _InFlight | None = None
            for doc, status in docs:
                try:
                    with tracing.stage("chunk"):
                        chunks = chunk_document(
                            doc,
                            self.embedder,
                            max_tokens=self.settings.ingest.chunk_tokens,
                            overlap_tokens=self.settings.ingest.chunk_overlap,
                        )
                except IngestError as err:
                    report.outcomes.append(FileOutcome(doc.doc_id, "failed", reason=err.reason))
                    continue
                if not chunks:
                    report.outcomes.append(FileOutcome(doc.doc_id, "failed", reason="no indexable text"))
                    continue
                reused = self.store.vectors_by_text_hash(tenant, [c.text_hash for c in chunks])
                vectors: list[npt.NDArray[np.float32] | None] = [reused.get(c.text_hash) for c in chunks]
                report.chunks_reused += sum(v is not None for v in vectors)
                pending.append(_Pending(doc, chunks, vectors, status))
                todo += sum(v is None for v in vectors)
                if todo >= batch:
                    inflight = self._next(embedding, inflight, pending, tenant, report, files_total)
                    pending, todo = [], 0
            inflight = self._next(embedding, inflight, pending, tenant, report, files_total)
            self._next(embedding, inflight, [], tenant, report, files_total)

    def _next(
        self,
        embedding: ThreadPoolExecutor,
        inflight: _InFlight | None,
        pending: list[_Pending],
        tenant: str,
        report: IngestReport,
        files_total: int,
    ) -> _InFlight | None:
        """Start embedding ``pending``, then wait for the batch in flight and write it; the new batch in flight."""
        started = (
            _InFlight(pending, embedding.submit(contextvars.copy_context().run, self._embed, pending))
            if pending
            else None
        )
        if inflight is not None:
            embedded, shared = inflight.embedded.result()  # an embedding error is raised here
            report.chunks_embedded += embedded
            report.chunks_reused += shared
            self._write(inflight.pending, tenant, report, files_total)
        return started

    def _embed(self, pending: list[_Pending]) -> tuple[int, int]:
        """Fill in the vectors ``pending`` lacks (in the embedding thread), embedding each distinct text once and
        none the previous batch embedded (not written yet, so the store could not offer it): how many texts were
        embedded, and how many chunks took a vector embedded for another chunk."""
        missing = [(p, i) for p in pending for i, v in enumerate(p.vectors) if v is None]
        known, self._recent = self._recent, {}
        todo: dict[str, str] = {}  # text hash -> the text, each distinct text once, in order
        for p, i in missing:
            chunk = p.chunks[i]
            if chunk.text_hash not in known:
                todo.setdefault(chunk.text_hash, chunk.indexed_text)
        if todo:
            with tracing.stage(f"{semconv.EMBEDDINGS} {self.embedder.name}", {semconv.OPERATION: semconv.EMBEDDINGS}):
                vectors = self.embedder.embed(list(todo.values()))
            known = {**known, **dict(zip(todo, vectors, strict=True))}
        for p, i in missing:
            key = p.chunks[i].text_hash
            p.vectors[i] = self._recent[key] = known[key]
        return len(todo), len(missing) - len(todo)

    def _write(self, pending: list[_Pending], tenant: str, report: IngestReport, files_total: int) -> None:
        for p in pending:
            matrix = np.stack([v for v in p.vectors if v is not None]).astype(np.float32)
            with tracing.stage("write", {"ragwright.chunks": len(p.chunks)}):
                self.store.upsert(tenant, p.doc, p.chunks, matrix)
            report.outcomes.append(FileOutcome(p.doc.doc_id, p.status, chunks=len(p.chunks)))
            self._emit(report, files_total, p.doc.doc_id)

    def _emit(self, report: IngestReport, total: int, current: str) -> None:
        if self.progress is not None:
            self.progress(
                Progress(
                    files_done=len(report.outcomes),
                    files_total=total,
                    chunks_embedded=report.chunks_embedded,
                    current=current,
                )
            )
