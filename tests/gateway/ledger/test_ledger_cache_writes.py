"""The ledger records prompt-cache writes; a ledger file written by the previous version (no such column) still
opens, reports, and gains the column on the first write."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ragwright.gateway import ChatRequest, Message, RequestContext, Usage
from ragwright.gateway.ledger import UsageLedger
from ragwright.gateway.policies.ledgered import Ledgered
from ragwright.gateway.pricing import Price, PriceTable
from ragwright.gateway.usage import summarize
from ragwright.testing import FakeChatModel, Reply

# The table as the previous version created it (before cache_write_tokens)
OLD_SCHEMA = """
CREATE TABLE usage (
    ts REAL NOT NULL, tenant TEXT NOT NULL, key_id TEXT, model_requested TEXT NOT NULL, model TEXT, provider TEXT,
    input_tokens INTEGER NOT NULL, cached_input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL, cost_usd REAL, saved_usd REAL NOT NULL, cached INTEGER NOT NULL,
    latency_ms REAL NOT NULL, status TEXT NOT NULL, error_type TEXT, fallback TEXT NOT NULL, stream INTEGER NOT NULL
);
CREATE INDEX usage_ts ON usage(ts);
INSERT INTO usage VALUES (1790000000.0, 'acme', NULL, 'rag', 'fake:a', 'fake', 1000, 400, 300, 0, 0.002, 0.0, 0,
                          12.5, 'ok', NULL, '', 0);
"""

PRICES = PriceTable({"fake:a": Price(input=3.0, cached_input=0.3, output=15.0, cache_write=3.75)})
USAGE = Usage(input_tokens=1000, cached_input_tokens=400, output_tokens=300, cache_write_tokens=100)
REQ = ChatRequest(model="rag", messages=(Message("user", "hello"),), context=RequestContext(tenant="acme"))


def columns(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[1] for row in conn.execute("PRAGMA table_info(usage)")]
    finally:
        conn.close()


def old_ledger(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(OLD_SCHEMA)
    conn.close()
    return path


async def test_cache_writes_recorded_chat_and_stream(tmp_path: Path) -> None:
    inner = FakeChatModel([Reply("hi", usage=USAGE), Reply("hi", usage=USAGE)], name="fake:a", prices=PRICES)
    ledger = UsageLedger(tmp_path / "usage.sqlite", flush_ms=10_000)
    model = Ledgered(inner, ledger)
    await model.chat(REQ)
    folded = [c async for c in model.stream(REQ)]
    assert folded[-1].usage is not None and folded[-1].usage.cache_write_tokens == 100
    assert ledger.flush()
    conn = sqlite3.connect(tmp_path / "usage.sqlite")
    got = conn.execute(
        "SELECT input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, cost_usd, stream"
        " FROM usage ORDER BY rowid"
    ).fetchall()
    conn.close()
    # 500 fresh x 3 + 400 read x 0.3 + 100 written x 3.75 + 300 out x 15 = 6495 per million
    assert [r[:4] for r in got] == [(1000, 400, 100, 300)] * 2 and [r[5] for r in got] == [0, 1]
    assert all(r[4] == pytest.approx(6495 / 1e6) for r in got)
    ledger.close()


async def test_ledger_from_previous_version_opens_and_gains_the_column(tmp_path: Path) -> None:
    path = old_ledger(tmp_path / "usage.sqlite")
    assert "cache_write_tokens" not in columns(path)
    # reports read an old file as it is (read-only: nothing added), writes reading 0
    (before,) = summarize(path, by="tenant")
    assert (before.calls, before.input_tokens, before.cache_write_tokens) == (1, 1000, 0)
    assert "cache_write_tokens" not in columns(path)

    ledger = UsageLedger(path, flush_ms=10_000)
    await Ledgered(FakeChatModel([Reply("hi", usage=USAGE)], name="fake:a", prices=PRICES), ledger).chat(REQ)
    assert ledger.flush() and ledger.stats.write_failures == 0 and ledger.stats.written == 1
    ledger.close()
    assert columns(path).count("cache_write_tokens") == 1
    conn = sqlite3.connect(path)
    got = conn.execute("SELECT input_tokens, cache_write_tokens FROM usage ORDER BY rowid").fetchall()
    conn.close()
    assert got == [(1000, 0), (1000, 100)]
    (after,) = summarize(path, by="tenant")
    assert (after.calls, after.input_tokens, after.cache_write_tokens) == (2, 2000, 100)

    # opening it again (or from a second process that lost the race) is a no-op
    again = UsageLedger(path, flush_ms=10_000)
    await Ledgered(FakeChatModel([Reply("hi", usage=USAGE)], name="fake:a", prices=PRICES), again).chat(REQ)
    assert again.flush() and again.stats.write_failures == 0
    again.close()
    assert columns(path).count("cache_write_tokens") == 1
