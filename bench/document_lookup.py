"""Single-document lookup cost: ``Store.document`` (one primary-key query) against the listing scan the DELETE route
and the MCP ``get_document``/``ingest`` tools used before (``next(d for d in store.documents(t) if d.doc_id == id)``).

Usage: ``python bench/document_lookup.py /tmp/lookup [N]``: builds (once) an index of N one-chunk documents (default
20000, every third tagged ``hr``, the rest ``public``) with the fake embedder, then in this one process measures CPU
time per call of each lookup and of the whole MCP ``get_document`` tool call with each lookup plugged in.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.interfaces.mcp.access import local_key
from ragwright.interfaces.mcp.schemas import GetDocumentArgs
from ragwright.interfaces.mcp.tools import RagTools
from ragwright.store.base import DocumentInfo, Store
from ragwright.testing.store_contract import make_doc

TENANT = "default"


def build(rw: Ragwright, n: int) -> None:
    store = rw.store
    if store.stats(TENANT).documents >= n:
        return
    store.bind_embedder(rw.embedder.name, rw.embedder.dim)
    for i in range(n):
        doc, chunks, _ = make_doc(
            f"docs/d{i:06d}.md",
            [f"document number {i} about topic {i % 97}"],
            tags=("hr",) if i % 3 == 0 else ("public",),
        )
        store.upsert(TENANT, doc, chunks, rw.embedder.embed([c.indexed_text for c in chunks]))


def scan(store: Store) -> Callable[[str, str], DocumentInfo | None]:
    """The lookup as it was: list the tenant's documents, keep the one with the id."""
    return lambda tenant, doc_id: next((d for d in store.documents(tenant) if d.doc_id == doc_id), None)


def cpu_ms(fn: Callable[[], object], rounds: int) -> float:
    fn()  # warm up
    start = time.process_time()
    for _ in range(rounds):
        fn()
    return (time.process_time() - start) * 1000 / rounds


def main(root: Path, n: int) -> None:
    rw = Ragwright(load_settings(data_dir=root, embedding={"model": "fake"}))
    started = time.perf_counter()
    build(rw, n)
    print(f"index: {rw.store.stats(TENANT).documents} documents ({time.perf_counter() - started:.1f} s to build)")
    store = rw.store
    new = store.document
    old = scan(store)
    ids = [f"docs/d{n // 2:06d}.md", f"docs/d{n - 1:06d}.md", "docs/missing.md"]
    for doc_id in ids:
        assert old(TENANT, doc_id) == new(TENANT, doc_id)
        o = cpu_ms(functools.partial(old, TENANT, doc_id), 20)
        w = cpu_ms(functools.partial(new, TENANT, doc_id), 2000)
        print(f"lookup {doc_id:22s} scan {o:8.3f} ms  document() {w:8.4f} ms  ratio {o / w:8.0f}x")
    tools = RagTools(rw)
    key = local_key(TENANT)
    args = GetDocumentArgs(doc_id=ids[0])

    def get_document() -> object:
        return asyncio.run(tools.get_document(key, args))

    new_ms = cpu_ms(get_document, 200)
    store.document = old  # type: ignore[assignment,method-assign]  # the old lookup, same process and store
    old_ms = cpu_ms(get_document, 20)
    delattr(store, "document")
    print(
        f"MCP get_document (whole tool call)  scan {old_ms:8.3f} ms  document() {new_ms:8.3f} ms  "
        f"ratio {old_ms / new_ms:6.1f}x"
    )
    rw.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 20_000)
