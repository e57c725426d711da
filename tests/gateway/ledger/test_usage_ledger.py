"""The usage ledger: batched background writes, nothing on the request path, drops counted, spend reports."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from ragwright.errors import AllProvidersFailed, ProviderHTTPError, StreamInterrupted
from ragwright.gateway import ChatRequest, Message, RequestContext, Usage, collect
from ragwright.gateway.ledger import UsageLedger, UsageRecord
from ragwright.gateway.policies.ledgered import Ledgered
from ragwright.gateway.pricing import Price, PriceTable
from ragwright.gateway.usage import summarize
from ragwright.testing import FakeChatModel, Reply


def req(tenant: str = "acme", key: str | None = "k1", model: str = "rag") -> ChatRequest:
    return ChatRequest(
        model=model,
        messages=(Message("user", "how much is two plus two"),),
        context=RequestContext(tenant=tenant, key_id=key),
    )


def rows(path: Path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM usage ORDER BY rowid").fetchall()
    finally:
        conn.close()


async def test_records_land_after_flush_with_usage_cost_and_outcome(tmp_path: Path) -> None:
    prices = PriceTable({"fake:a": Price(input=1.0, output=2.0, cached_input=0.5, reasoning=4.0)})
    usage = Usage(input_tokens=1000, cached_input_tokens=400, output_tokens=300, reasoning_tokens=100)
    inner = FakeChatModel(
        [Reply("four", usage=usage), ProviderHTTPError(503, provider="fake:a")], name="fake:a", prices=prices
    )
    ledger = UsageLedger(tmp_path / "usage.sqlite", flush_ms=10_000)
    model = Ledgered(inner, ledger)
    await model.chat(req())
    with pytest.raises(ProviderHTTPError):
        await model.chat(req(tenant="other", key=None))
    assert not (tmp_path / "usage.sqlite").exists() or not rows(tmp_path / "usage.sqlite")
    assert ledger.flush()
    ok, err = rows(tmp_path / "usage.sqlite")
    assert (ok["tenant"], ok["key_id"], ok["model_requested"], ok["model"], ok["provider"]) == (
        "acme",
        "k1",
        "rag",
        "fake:a",
        "fake",
    )
    assert (ok["input_tokens"], ok["cached_input_tokens"], ok["output_tokens"], ok["reasoning_tokens"]) == (
        1000,
        400,
        300,
        100,
    )
    # 600*1 + 400*0.5 + 200*2 + 100*4 per 1M tokens
    assert ok["cost_usd"] == pytest.approx(1600 / 1e6) and ok["status"] == "ok" and ok["error_type"] is None
    assert ok["latency_ms"] >= 0 and ok["ts"] == pytest.approx(time.time(), abs=60)
    assert (err["tenant"], err["key_id"], err["status"], err["error_type"], err["cost_usd"]) == (
        "other",
        None,
        "error",
        "ProviderHTTPError",
        None,
    )
    ledger.close()


async def test_streams_are_recorded_with_final_usage_and_cuts_as_errors(tmp_path: Path) -> None:
    inner = FakeChatModel(["one two three", Reply("a b c", cut_after=1)], name="fake:s")
    ledger = UsageLedger(tmp_path / "u.sqlite")
    model = Ledgered(inner, ledger)
    folded = await collect(model.stream(req()))
    assert folded.text == "one two three"
    with pytest.raises(StreamInterrupted):
        await collect(model.stream(req()))
    ledger.close()
    ok, cut = rows(tmp_path / "u.sqlite")
    assert (ok["stream"], ok["status"], ok["output_tokens"], ok["model"]) == (1, "ok", 3, "fake:s")
    assert (cut["stream"], cut["status"], cut["error_type"]) == (1, "error", "StreamInterrupted")
    assert cut["model"] == "fake:s"


async def test_fallback_path_of_a_failed_chain_is_recorded(tmp_path: Path) -> None:
    failure = AllProvidersFailed([("fake:a", ProviderHTTPError(500)), ("fake:b", ProviderHTTPError(429))])
    ledger = UsageLedger(tmp_path / "u.sqlite")
    with pytest.raises(AllProvidersFailed):
        await Ledgered(FakeChatModel([failure]), ledger).chat(req())
    ledger.close()
    (row,) = rows(tmp_path / "u.sqlite")
    assert row["fallback"] == "fake:a(ProviderHTTPError) > fake:b(ProviderHTTPError)"
    assert row["error_type"] == "AllProvidersFailed"


async def test_request_path_never_touches_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """sqlite3 is only ever called from the writer thread, never from the thread running the calls."""
    callers: list[str] = []
    real_connect = sqlite3.connect

    def spying_connect(*args: object, **kwargs: object) -> sqlite3.Connection:
        callers.append(threading.current_thread().name)
        return real_connect(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sqlite3, "connect", spying_connect)
    ledger = UsageLedger(tmp_path / "u.sqlite", batch_size=8, flush_ms=5)
    model = Ledgered(FakeChatModel(["x"], cycle=True), ledger)
    for _ in range(50):
        await model.chat(req())
    assert ledger.flush()
    ledger.close()
    assert callers and set(callers) == {"ragwright-usage-ledger"}
    assert ledger.stats.written == 50


async def test_unwritable_ledger_never_fails_a_call_and_counts_the_loss(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the ledger's directory should be")
    ledger = UsageLedger(blocker / "usage.sqlite", batch_size=10, flush_ms=5)
    model = Ledgered(FakeChatModel(["fine"], cycle=True), ledger)
    with caplog.at_level(logging.WARNING, logger="ragwright.gateway.ledger"):
        replies = [await model.chat(req()) for _ in range(25)]
        assert ledger.flush()
    assert all(r.text == "fine" for r in replies)
    stats = ledger.stats
    assert stats.recorded == 25 and stats.written == 0 and stats.lost == 25 and stats.write_failures >= 1
    assert any("not written" in r.getMessage() for r in caplog.records)
    ledger.close()


def test_full_buffer_drops_and_counts_instead_of_blocking(tmp_path: Path) -> None:
    ledger = UsageLedger(tmp_path / "u.sqlite", batch_size=10_000, flush_ms=60_000, max_pending=10)
    # the writer never flushes here (huge batch, 60 s interval): a record() that waited for room would hang
    accepted = [ledger.record(UsageRecord(model_requested="m")) for _ in range(100)]
    assert accepted.count(True) == 10 and ledger.stats.dropped == 90
    ledger.close()
    assert ledger.stats.written == 10
    assert ledger.record(UsageRecord(model_requested="late")) is False
    assert ledger.stats.dropped == 91


def test_ten_thousand_records_are_batch_written(tmp_path: Path) -> None:
    # how fast is a benchmark's question (bench/gateway_overhead.py), not a unit test's
    ledger = UsageLedger(tmp_path / "u.sqlite")
    for i in range(10_000):
        ledger.record(
            UsageRecord(tenant=f"t{i % 3}", model_requested="m", model="fake:a", input_tokens=i, cost_usd=0.001)
        )
    assert ledger.flush()
    ledger.close()
    conn = sqlite3.connect(tmp_path / "u.sqlite")
    count, tokens = conn.execute("SELECT COUNT(*), SUM(input_tokens) FROM usage").fetchone()
    conn.close()
    assert count == 10_000 and tokens == sum(range(10_000))
    assert ledger.stats.dropped == 0 and ledger.stats.lost == 0


def test_summaries_group_by_tenant_key_model_and_day(tmp_path: Path) -> None:
    path = tmp_path / "u.sqlite"
    ledger = UsageLedger(path)
    day1 = 1_790_000_000.0  # 2026-09-21 UTC
    day2 = day1 + 86_400
    ledger.record(
        UsageRecord(
            ts=day1,
            tenant="a",
            key_id="k1",
            model_requested="rag",
            model="openai:x",
            input_tokens=10,
            output_tokens=5,
            cost_usd=0.25,
        )
    )
    ledger.record(
        UsageRecord(
            ts=day2,
            tenant="a",
            key_id="k2",
            model_requested="rag",
            model="openai:x",
            input_tokens=20,
            output_tokens=5,
            cost_usd=0.5,
            cached=True,
            saved_usd=0.5,
        )
    )
    ledger.record(
        UsageRecord(
            ts=day2,
            tenant="b",
            key_id=None,
            model_requested="rag",
            model=None,
            status="error",
            error_type="AllProvidersFailed",
        )
    )
    ledger.record(UsageRecord(ts=day2, tenant="b", model_requested="rag", model="mystery:m", input_tokens=1))
    ledger.close()
    by_tenant = {r.group: r for r in summarize(path, by="tenant")}
    assert by_tenant["a"].calls == 2 and by_tenant["a"].cost_usd == pytest.approx(0.75)
    assert by_tenant["a"].saved_usd == pytest.approx(0.5) and by_tenant["a"].cache_hits == 1
    assert by_tenant["b"].errors == 1 and by_tenant["b"].unpriced_calls == 1 and by_tenant["b"].cost_usd == 0
    assert [r.group for r in summarize(path, by="model")] == ["openai:x", "mystery:m", "rag"]
    assert {r.group: r.calls for r in summarize(path, by="key")} == {"k1": 1, "k2": 1, "-": 2}
    days = {r.group: r.calls for r in summarize(path, by="day")}
    assert days == {"2026-09-21": 1, "2026-09-22": 3}
    assert sum(r.calls for r in summarize(path, by="tenant", since=date(2026, 9, 22))) == 3
    assert summarize(tmp_path / "absent.sqlite") == []


def test_relative_ledger_path_is_fixed_when_the_ledger_is_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer opens the file lazily; a later chdir must not move the ledger (it once landed in the repo root)."""
    monkeypatch.chdir(tmp_path)
    ledger = UsageLedger(Path("idx") / "usage.sqlite")
    monkeypatch.chdir(tmp_path.parent)
    assert ledger.table.where == str(tmp_path / "idx" / "usage.sqlite")


def test_usage_by_kb_and_prompt_with_questions_from_a_ledger_of_the_previous_version(tmp_path: Path) -> None:
    """A ledger the previous version wrote (m001 and m002 applied) gains kb, prompt and request id columns; its old
    rows group as '-' and count one question each, and the calls of one request count as one question."""
    path = tmp_path / "usage.sqlite"
    old = UsageLedger(path)
    old.record(UsageRecord(ts=1.0, tenant="acme", model_requested="rag", model="fake:a", cost_usd=0.5))
    assert old.flush()
    old.close()
    db = sqlite3.connect(path)  # as the previous version left it: without the columns m003 adds, m003 unrecorded
    for column in ("kb", "prompt_name", "prompt_version", "request_id"):
        db.execute(f"ALTER TABLE usage DROP COLUMN {column}")
    db.execute("DELETE FROM migrations WHERE name = 'ledger.m003_kb_prompt_request'")
    db.commit()
    db.close()
    ledger = UsageLedger(path)
    for request_id, prompt in (("r1", "1"), ("r1", "1"), ("r2", "2")):  # r1: a rewrite and an answer
        ledger.record(
            UsageRecord(tenant="acme", model_requested="default", model="fake:a", cost_usd=1.0, kb="handbook",
                        prompt_name="answer_system", prompt_version=prompt, request_id=request_id)
        )  # fmt: skip
    ledger.record(UsageRecord(tenant="other", model_requested="default", model="fake:a", cost_usd=9.0, kb="x"))
    assert ledger.flush()
    ledger.close()
    by_kb = {r.group: r for r in summarize(path, by="kb", tenant="acme")}
    assert set(by_kb) == {"handbook", "-"}  # the other tenant's calls are not in acme's report
    assert (by_kb["handbook"].calls, by_kb["handbook"].questions, by_kb["handbook"].cost_usd) == (3, 2, 3.0)
    assert by_kb["handbook"].cost_per_1k_questions == pytest.approx(1500.0)
    assert by_kb["-"].questions == 1
    by_prompt = {r.group: r.calls for r in summarize(path, by="prompt")}
    assert by_prompt == {"answer_system@1": 2, "answer_system@2": 1, "-": 2}
