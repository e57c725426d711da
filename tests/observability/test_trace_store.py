"""The local trace store on a real SQLite file: tenant scoping, retention by age and by size (vacuumed), purging a
deleted document's text, and the one migration mechanism."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from ragwright.config import load_settings
from ragwright.observability import semconv
from ragwright.observability.trace_store import SpanRecord, SQLiteTraceStore, purge_document

DAY_NS = 86400 * 10**9


def _trace(trace_id: str, tenant: str, start_ns: int, *, doc: str = "a.md", payload: int = 0) -> list[SpanRecord]:
    root = SpanRecord(trace_id, "1" * 16, None, "POST /v1/answer", "server", start_ns, start_ns + 5_000_000,
                      attributes={semconv.TENANT: tenant}, local_root=True)  # fmt: skip
    retrieval = SpanRecord(
        trace_id, "2" * 16, "1" * 16, f"retrieval {tenant}", "internal", start_ns + 1, start_ns + 2_000_000,
        attributes={semconv.STORE_TENANT: tenant, semconv.HIT_DOCS: [doc], semconv.HIT_CHUNKS: ["c1"],
                    semconv.HIT_SCORES: [0.5], "pad": "x" * payload},
    )  # fmt: skip
    chat = SpanRecord(
        trace_id, "3" * 16, "1" * 16, "chat default", "client", start_ns + 2_000_000, start_ns + 4_000_000,
        attributes={semconv.ATTEMPTS: 1, semconv.COST_USD: 0.25},
        content={semconv.INPUT_MESSAGES: f"evidence quoted from {doc}"},
    )  # fmt: skip
    return [retrieval, chat, root]


def _pages(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("PRAGMA page_count").fetchone()[0])


def test_traces_are_listed_and_read_per_tenant(tmp_path: Path) -> None:
    store = SQLiteTraceStore(tmp_path / "traces.sqlite")
    now = time.time_ns()
    store.write(_trace("a" * 32, "acme", now))
    store.write(_trace("b" * 32, "other", now + 1))
    assert [t.trace_id for t in store.list(tenant="acme")] == ["a" * 32]
    assert [t.trace_id for t in store.list(tenant=None)] == ["b" * 32, "a" * 32]
    assert store.get("b" * 32, tenant="acme") is None  # another tenant's trace reads as missing
    detail = store.get("a" * 32, tenant="acme")
    assert detail is not None
    s = detail.summary
    assert (s.root, s.tenant, s.spans, s.cost_usd) == ("POST /v1/answer", "acme", 3, 0.25)
    assert detail.docs == [("acme", "a.md")]
    assert [sp.name for sp in detail.spans] == ["POST /v1/answer", "retrieval acme", "chat default"]
    store.close()


def test_spans_of_one_trace_arriving_in_several_batches_make_one_summary(tmp_path: Path) -> None:
    store = SQLiteTraceStore(tmp_path / "traces.sqlite")
    retrieval, chat, root = _trace("a" * 32, "acme", time.time_ns())
    store.write([retrieval])
    store.write([chat])
    store.write([root])
    (summary,) = store.list(tenant="acme")
    assert (summary.root, summary.spans, summary.cost_usd, summary.duration_ms) == ("POST /v1/answer", 3, 0.25, 5.0)
    store.close()


def test_retention_deletes_old_traces_then_the_oldest_until_the_file_fits_and_vacuums(tmp_path: Path) -> None:
    path = tmp_path / "traces.sqlite"
    store = SQLiteTraceStore(path, retention_days=1, retention_mb=0.5)
    now = time.time_ns()
    store.write(_trace("0" * 32, "acme", now - 2 * DAY_NS))  # past the age limit
    for i in range(1, 41):  # ~40 x 40 KB: over the size limit
        store.write(_trace(f"{i:032x}", "acme", now - (100 - i) * 10**9, payload=40_000))
    size_before = _pages(path)
    deleted = store.enforce_retention(now)
    left = store.list(tenant=None, limit=1000)
    assert deleted >= 2 and store.get("0" * 32, tenant=None) is None
    newest_kept = max(int(t.trace_id, 16) for t in left)
    oldest_kept = min(int(t.trace_id, 16) for t in left)
    assert newest_kept == 40 and oldest_kept > 1  # the oldest went first
    assert store.enforce_retention(now) == 0  # within both limits now
    store.close()
    assert _pages(path) < size_before / 2  # vacuumed: the file shrank, not just its free list grew
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA freelist_count").fetchone()[0] / _pages(path) < 0.25


def test_deleting_a_document_purges_its_text_from_stored_traces_and_from_spans_still_in_flight(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    store = SQLiteTraceStore(settings.trace_store_path)
    now = time.time_ns() - 10**9  # the question was asked a second before the document is deleted
    retrieval, chat, root = _trace("a" * 32, "acme", now, doc="secret.md")
    store.write([retrieval, root])  # the chat span (with content) is still in the exporter's queue
    store.write(_trace("b" * 32, "acme", now, doc="other.md"))
    assert purge_document(settings, "acme", "secret.md") == 0  # nothing stored yet holds its text
    store.write([chat])  # arrives after the delete
    detail = store.get("a" * 32, tenant="acme")
    assert detail is not None and all(not s.content for s in detail.spans)
    other = store.get("b" * 32, tenant="acme")
    assert other is not None and any(s.content for s in other.spans)  # other documents' traces keep theirs
    assert purge_document(settings, "acme", "other.md") == 1
    assert all(not s.content for s in store.get("b" * 32, tenant="acme").spans)  # type: ignore[union-attr]
    with sqlite3.connect(settings.trace_store_path) as db:
        raw = " ".join(str(r) for r in db.execute("SELECT * FROM trace_spans"))
    assert "evidence quoted" not in raw
    store.close()


def test_purge_without_a_trace_store_does_nothing(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert purge_document(settings, "acme", "a.md") == 0
    assert not settings.trace_store_path.exists()


def test_the_schema_is_applied_once_through_the_migration_mechanism(tmp_path: Path) -> None:
    path = tmp_path / "traces.sqlite"
    SQLiteTraceStore(path).close()
    SQLiteTraceStore(path).close()
    with sqlite3.connect(path) as db:
        names = [r[0] for r in db.execute("SELECT name FROM migrations")]
    assert names == ["traces.m001_traces"]


def test_lists_filter_by_root_key_errors_and_duration(tmp_path: Path) -> None:
    from ragwright.observability.trace_store import TraceFilter

    store = SQLiteTraceStore(tmp_path / "traces.sqlite")
    now = time.time_ns()
    store.write(_trace("a" * 32, "acme", now))  # POST /v1/answer, 5 ms, no error
    slow_failed = [
        SpanRecord("b" * 32, "1" * 16, None, "POST /v1/search", "server", now + 10, now + 90_000_000, status="error",
                   error="boom", attributes={semconv.TENANT: "acme", semconv.KEY_ID: "k1"}, local_root=True),
    ]  # fmt: skip
    store.write(slow_failed)
    store.write(_trace("c" * 32, "other", now + 20))

    def ids(**kw: object) -> list[str]:
        return [t.trace_id[0] for t in store.list(tenant="acme", where=TraceFilter(**kw))]  # type: ignore[arg-type]

    assert ids() == ["b", "a"]
    assert ids(root="POST /v1/answer") == ["a"]
    assert ids(errors_only=True) == ["b"] and ids(key_id="k1") == ["b"] and ids(key_id="zz") == []
    assert ids(min_ms=50) == ["b"] and ids(min_ms=1) == ["b", "a"]
    assert ids(root="POST /v1/answer", errors_only=True) == []
    assert store.roots(tenant="acme") == ("POST /v1/answer", "POST /v1/search")
    assert store.roots(tenant="nobody") == ()
    store.close()
