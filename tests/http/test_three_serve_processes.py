"""Three `ragwright serve` processes on different ports sharing one Redis (and one data directory, until keys and
jobs move to PostgreSQL): the per-key RPM limit lets exactly N requests through across them under concurrent load, a
USD budget under 100 concurrent chat completions spread over them overshoots by at most one call's worst case, and a
key revoked with `ragwright keys revoke` is refused by all three on their next request."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from ragwright.config import RedisSettings
from ragwright.gateway import ChatRequest, Message
from ragwright.gateway.policies.budget import Budget
from ragwright.gateway.pricing import Price, PriceTable
from ragwright.service.keys import KeyStore
from ragwright.testing import FakeChatModel
from ragwright.testing.openai_server import OpenAIServer

RPM = 20
MODEL = "openai:bench-m"
PRICE = Price(input=100.0, output=1000.0)  # USD per 1M tokens
MAX_TOKENS = 20
QUESTION = "how do I rotate the API key of the billing service"


@dataclass
class Replicas:
    urls: list[str]
    env: dict[str, str]
    cwd: Path
    redis: RedisSettings

    def key(self) -> str:
        """A read key of tenant acme, written to the key store the processes share."""
        with KeyStore(self.cwd / "idx" / "keys.sqlite") as store:
            return store.create("acme", scopes=("read",))[0]

    def ragwright(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "ragwright", *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()


def _worst_case() -> float:
    budget = Budget(FakeChatModel(name=MODEL), tenant_usd=1.0, prices=PriceTable({MODEL: PRICE}))
    request = ChatRequest(model="default", messages=(Message("user", QUESTION),), max_tokens=MAX_TOKENS)
    worst = budget.worst_case(request)
    assert worst is not None
    return worst


def _start(env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ragwright", "serve", "--port", "0", "--no-access-log"],
        env=env,
        cwd=cwd,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stderr is not None
    url, started, deadline = None, False, time.monotonic() + 120
    while not (url and started) and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        found = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        url = url or (found.group(1) if found else None)
        started = started or "Application startup complete" in line
    if not (url and started):
        os.killpg(proc.pid, signal.SIGINT)
        raise AssertionError(f"serve did not start: {proc.communicate(timeout=60)[1]}")
    return proc, url


@pytest.fixture
def replicas(tmp_path: Path, redis_settings: RedisSettings) -> Iterator[Replicas]:
    with OpenAIServer() as upstream:
        (tmp_path / "prices.toml").write_text(f'["{MODEL}"]\ninput = {PRICE.input}\noutput = {PRICE.output}\n')
        (tmp_path / "ragwright.toml").write_text(
            f"""
data_dir = "{tmp_path / "idx"}"
[embedding]
model = "fake"
[service]
rate_limit_rpm = {RPM}
[redis]
url = "{redis_settings.url}"
prefix = "{redis_settings.prefix}"
timeout = 5.0
[gateway]
chain = ["{MODEL}"]
ledger = false
prices_file = "{tmp_path / "prices.toml"}"
[gateway.providers.openai]
base_url = "{upstream.base_url}"
api_key = "env:BENCH_UPSTREAM_KEY"
[gateway.cache]
exact = false
[gateway.budget]
tenant_usd = {10.5 * _worst_case()!r}
"""
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RAGWRIGHT_", "PROMETHEUS_"))}
        env.update(BENCH_UPSTREAM_KEY="sk-loopback-test", PYTHONPATH=os.pathsep.join(sys.path))
        started: list[tuple[subprocess.Popen[str], str]] = []
        try:
            for _ in range(3):
                started.append(_start(env, tmp_path))
            yield Replicas([url for _, url in started], env, tmp_path, redis_settings)
        finally:
            for proc, _ in started:
                os.killpg(proc.pid, signal.SIGINT)
                proc.communicate(timeout=60)


def _statuses(urls: list[str], key: str, n: int) -> list[int]:
    async def burst() -> list[int]:
        fresh = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}, limits=fresh, timeout=120) as c:
            replies = await asyncio.gather(*(c.get(f"{urls[i % len(urls)]}/v1/documents") for i in range(n)))
        return [r.status_code for r in replies]

    return asyncio.run(burst())


@pytest.mark.slow
def test_three_serve_processes_share_limits_budgets_and_revocations(replicas: Replicas) -> None:
    # 1. the per-key RPM limit: exactly RPM of 60 concurrent requests pass, whichever process answers
    key = replicas.key()
    statuses = _statuses(replicas.urls, key, 3 * RPM)
    assert statuses.count(200) == RPM and statuses.count(429) == 2 * RPM

    # 2. a USD budget under 100 concurrent chat completions spread over the three (10 keys: under their RPM)
    keys = [replicas.key() for _ in range(10)]
    body = {"model": "default", "messages": [{"role": "user", "content": QUESTION}], "max_tokens": MAX_TOKENS}

    async def spend() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=120) as c:
            calls = [
                c.post(
                    f"{replicas.urls[i % 3]}/v1/chat/completions",
                    json=body,
                    headers={"Authorization": f"Bearer {keys[i % 10]}"},
                )
                for i in range(100)
            ]
            return list(await asyncio.gather(*calls))

    replies = asyncio.run(spend())
    ok = [r for r in replies if r.status_code == 200]
    refused = [r for r in replies if r.status_code == 429]
    assert len(ok) + len(refused) == 100, sorted({(r.status_code, r.text[:200]) for r in replies})
    assert refused and all(r.json()["error"]["type"] == "budget_exceeded" for r in refused)
    worst, limit = _worst_case(), 10.5 * _worst_case()
    assert len(ok) >= 10  # never fewer calls than the worst cases that fit

    async def spent() -> float:
        import redis.asyncio

        client = redis.asyncio.Redis.from_url(replicas.redis.url or "")
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        value = await client.hget(f"{replicas.redis.prefix}:budget:tenant:acme@{day}", "spent")
        await client.aclose()
        return float(value or 0)

    total = asyncio.run(spent())
    assert 0 < total <= limit + worst  # the bound; the reservations keep it within the limit itself
    assert total <= limit + 1e-9

    # 3. a key revoked with `ragwright keys revoke` (its own process) is refused by all three on their next request
    # (that each replica's one-second trust ends at the announcement, not after it, is tested in-process:
    # tests/http/test_redis_replicas.py and tests/sharedstate/test_key_revocation.py)
    victim = keys[0]
    assert [
        httpx.get(f"{u}/v1/models", headers={"Authorization": f"Bearer {victim}"}).status_code for u in replicas.urls
    ] == [200] * 3
    key_id = victim.split("_")[1]
    replicas.ragwright("keys", "revoke", key_id)
    after = [httpx.get(f"{u}/v1/models", headers={"Authorization": f"Bearer {victim}"}) for u in replicas.urls]
    assert [r.status_code for r in after] == [401, 401, 401]
