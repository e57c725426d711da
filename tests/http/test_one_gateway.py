"""One gateway per service process: `/v1/answer`, `rag:` chat and chat completions for gateway models charge the same
budget once per call, and that state outlives the pool refresh that follows every ingest job.

Before this, the service built two gateways (one for chat completions, one inside every pooled `Ragwright`), so a
tenant's budget was counted separately by each, and each refresh started the `ask` side from zero."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from ragwright.app import Ragwright
from ragwright.config import Settings, load_settings
from ragwright.gateway.build import Gateway
from ragwright.gateway.policies.budget import period_bounds
from ragwright.interfaces.http.app import create_app
from ragwright.testing import FakeChatModel
from tests.http.conftest import clean_env, run_server

DOC = "# Heat pump\n\nThe outdoor unit runs at 38 dB at night.\n"
QUESTION = "How loud is the outdoor unit at night?"
REPLY = "The outdoor unit runs at 38 dB at night. [1]"  # 10 output words: $10 at $1 per output token
CALL_USD = 10.0
MAX_TOKENS = 16  # every call reserves its worst case: 16 output tokens, $16


def _settings(root: Path) -> Settings:
    prices = root / "prices.toml"
    prices.write_text('["paid:a"]\ninput = 0.0\noutput = 1000000.0\n', encoding="utf-8")  # USD per 1M tokens
    return load_settings(
        data_dir=root / "index",
        embedding={"model": "fake"},
        service={"rate_limit_rpm": None},
        answer={"generator": "gateway", "max_tokens": MAX_TOKENS},
        gateway={
            "chain": ["paid:a"],
            "prices_file": str(prices),
            # three calls ($30) leave $18: a fourth call's $16 reservation still fits; after it, $8 does not
            "budget": {"tenant_usd": 3 * CALL_USD + MAX_TOKENS + 2},
            "cache": {"exact": False},
            "retry": {"max_attempts": 1},
        },
    )


def _chat(c: httpx.Client, model: str) -> httpx.Response:
    body = {"model": model, "max_tokens": MAX_TOKENS, "messages": [{"role": "user", "content": QUESTION}]}
    return c.post("/v1/chat/completions", json=body)


def test_ask_rag_chat_and_gateway_chat_share_one_budget_that_survives_a_refresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    clean_env(monkeypatch)
    settings = _settings(tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/pump.md").write_text(DOC, encoding="utf-8")
    writer = Ragwright(settings)
    writer.ingest([tmp_path / "docs"], tenant="acme")
    writer.close()
    provider = FakeChatModel([REPLY], cycle=True, name="paid:a")
    gateway = Gateway(settings, provider_factory=lambda spec: provider)
    app = create_app(settings, gateway=gateway)
    state = app.state.service
    key, _ = state.keys.create("acme", scopes=("read",))
    for url in run_server(app):
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
            answer = c.post("/v1/answer", json={"question": QUESTION})
            assert answer.status_code == 200 and answer.json()["model"] == "paid:a", answer.text
            assert _chat(c, "rag:default").status_code == 200
            assert _chat(c, "default").status_code == 200
            assert provider.calls == 3
            account = f"tenant:acme@{period_bounds(time.time(), 'day')[0]}"
            spent = state.gateway.run(gateway.budget_store.spent(account))
            assert spent == pytest.approx(3 * CALL_USD)  # each call charged once, to the one budget

            state.pool.refresh()  # what every finished ingest job does
            with state.pool.use() as rw:
                assert rw.gateway is state.gateway
            assert c.post("/v1/answer", json={"question": QUESTION}).status_code == 200  # $40 spent, $8 left
            refused = [c.post("/v1/answer", json={"question": QUESTION}), _chat(c, "rag:default"), _chat(c, "default")]
            assert provider.calls == 4
            fallback = refused[0].json()["fallback"]  # ask falls back to the extractive answer and says why
            assert refused[0].json()["answered_by"] == "extractive" and fallback["error"] == "BudgetExceeded"
            assert refused[1].status_code == 200  # rag: chat is the same ask: the answer is the extractive one
            assert refused[2].status_code == 429 and refused[2].json()["error"]["type"] == "budget_exceeded"
            assert "retry-after" in refused[2].headers
    ledger = sqlite3.connect(settings.ledger_path)
    rows = ledger.execute("SELECT tenant, status FROM usage ORDER BY rowid").fetchall()
    ledger.close()
    assert rows.count(("acme", "ok")) == 4  # one ledger row per call that reached the provider, whatever the path
