"""Model calls made while answering are attributed to the caller: the tenant is the key's tenant and the knowledge
base its own field (not the store tenant ``acme.handbook``, which split one tenant's budget by knowledge base), with
the key id, in the request context the gateway's budgets read and in the usage ledger."""

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
REPLY = "The outdoor unit runs at 38 dB at night. [1]"


def _settings(root: Path) -> Settings:
    prices = root / "prices.toml"
    prices.write_text('["paid:a"]\ninput = 0.0\noutput = 1000000.0\n', encoding="utf-8")
    return load_settings(
        data_dir=root / "index",
        embedding={"model": "fake"},
        service={"rate_limit_rpm": None},
        answer={"generator": "gateway", "max_tokens": 16},
        gateway={
            "chain": ["paid:a"],
            "prices_file": str(prices),
            "budget": {"tenant_usd": 1000.0},
            "cache": {"exact": False},
            "retry": {"max_attempts": 1},
        },
    )


def test_answers_from_a_knowledge_base_charge_the_tenant_and_record_the_kb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    clean_env(monkeypatch)
    settings = _settings(tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/pump.md").write_text(DOC, encoding="utf-8")
    writer = Ragwright(settings)
    writer.ingest([tmp_path / "docs"], tenant="acme.handbook")  # knowledge base 'handbook' of tenant 'acme'
    writer.close()
    provider = FakeChatModel([REPLY], cycle=True, name="paid:a")
    gateway = Gateway(settings, provider_factory=lambda spec: provider)
    app = create_app(settings, gateway=gateway)
    state = app.state.service
    state.kbs.add("acme", "handbook")
    key, info = state.keys.create("acme", scopes=("read",))
    for url in run_server(app):
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
            answer = c.post("/v1/answer", json={"question": QUESTION, "knowledge_base": "handbook"})
            assert answer.status_code == 200 and answer.json()["model"] == "paid:a", answer.text
            body = {"model": "rag:handbook", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
            with c.stream("POST", "/v1/chat/completions", json=body) as streamed:
                assert streamed.status_code == 200
                assert "[DONE]" in streamed.read().decode()
            assert provider.calls == 2
            for request in provider.requests:
                ctx = request.context
                assert (ctx.tenant, ctx.kb, ctx.key_id) == ("acme", "handbook", info.key_id)
            day = period_bounds(time.time(), "day")[0]
            assert state.gateway.run(gateway.budget_store.spent(f"tenant:acme@{day}")) > 0
            assert state.gateway.run(gateway.budget_store.spent(f"tenant:acme.handbook@{day}")) == 0
    ledger = sqlite3.connect(settings.ledger_path)
    rows = ledger.execute("SELECT tenant, kb, key_id, status FROM usage ORDER BY rowid").fetchall()
    ledger.close()
    assert rows == [("acme", "handbook", info.key_id, "ok")] * 2
