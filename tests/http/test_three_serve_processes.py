"""Three `ragwright serve` processes on different ports sharing one PostgreSQL (index, keys, jobs, the ingest queue)
and one Redis: the per-key RPM limit lets exactly N requests through across them under concurrent load, a USD budget
under 100 concurrent chat completions spread over them overshoots by at most one call's worst case, a key revoked
with `ragwright keys revoke` is refused by all three on their next request; a document uploaded through one replica
is ingested by a `ragwright worker` process and searchable through the others, and when that worker is killed with
SIGKILL mid-job another one retries it and every document is indexed exactly once; and tenant isolation (the
hypothesis property of tests/http/test_isolation.py) holds through every replica."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings

from ragwright.app import Ragwright
from ragwright.config import RedisSettings, Settings, load_settings
from ragwright.gateway import ChatRequest, Message
from ragwright.gateway.policies.budget import Budget
from ragwright.gateway.pricing import Price, PriceTable
from ragwright.interfaces.http.job_store import Job, job_from_json
from ragwright.service.keys import open_key_store
from ragwright.testing import FakeChatModel
from ragwright.testing.embedding_server import EmbeddingServer
from ragwright.testing.fakes import FakeEmbedder
from ragwright.testing.loopback_http import Plan
from ragwright.testing.openai_server import OpenAIServer
from ragwright.testing.postgres import new_schema_dsn
from ragwright.testing.redis_server import RedisServer
from tests.conftest import REDIS_TIMEOUT
from tests.http.test_isolation import Doc, check_isolation, docs_st, filter_st, keys_st

RPM = 30  # above the isolation property's 24 requests per key
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
    settings: Settings
    """The replicas' settings, for the test's own library calls (keys, the isolation property's writer)."""
    slow_embed: EmbeddingServer
    """What the workers embed with: 0.3 s per request, so a worker can be killed mid-job."""

    def key(self, tenant: str = "acme", scopes: tuple[str, ...] = ("read",), tags: tuple[str, ...] = ()) -> str:
        """A key written to the key store the processes share (PostgreSQL)."""
        store = open_key_store(self.settings)
        try:
            return store.create(tenant, scopes=scopes, tags=tags)[0]
        finally:
            store.close()

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

    def worker(self) -> subprocess.Popen[str]:
        """A `ragwright worker` process (in its own process group, with its ingest subprocess)."""
        env = dict(self.env, RAGWRIGHT_EMBEDDING__MODEL=f"openai-embed:{self.slow_embed.base_url}#fake")
        env["RAGWRIGHT_INGEST__EMBED_BATCH"] = "1"  # one document per write, so a kill falls between two
        return subprocess.Popen(
            [sys.executable, "-m", "ragwright", "worker", "--log-level", "warning"],
            env=env,
            cwd=self.cwd,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )


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


@pytest.fixture(scope="module")
def replicas(
    tmp_path_factory: pytest.TempPathFactory, postgres_dsn: str, redis_server: RedisServer
) -> Iterator[Replicas]:
    tmp_path = tmp_path_factory.mktemp("replicas")
    dsn = new_schema_dsn(postgres_dsn)
    redis = RedisSettings(url=redis_server.url, prefix="t" + uuid.uuid4().hex[:12], timeout=REDIS_TIMEOUT)
    with OpenAIServer() as upstream, EmbeddingServer(FakeEmbedder()) as embed:
        slow = EmbeddingServer(FakeEmbedder(), default=Plan(delay=0.3)).start()
        (tmp_path / "prices.toml").write_text(f'["{MODEL}"]\ninput = {PRICE.input}\noutput = {PRICE.output}\n')
        (tmp_path / "ragwright.toml").write_text(
            f"""
data_dir = "{tmp_path / "idx"}"
store = "{dsn}"
[embedding]
model = "openai-embed:{embed.base_url}#fake"
[service]
rate_limit_rpm = {RPM}
[redis]
url = "{redis.url}"
prefix = "{redis.prefix}"
timeout = {REDIS_TIMEOUT}
[queue]
enabled = true
heartbeat_seconds = 0.3
stalled_seconds = 1.5
poll_seconds = 0.2
backoff_seconds = 0
[gateway]
chain = ["{MODEL}"]
ledger = false
prices_file = "{tmp_path / "prices.toml"}"
[gateway.retry]
max_attempts = 1
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
        settings = load_settings(tmp_path / "ragwright.toml", data_dir=tmp_path / "test-side")
        started: list[tuple[subprocess.Popen[str], str]] = []
        try:
            for _ in range(3):
                started.append(_start(env, tmp_path))
            yield Replicas([url for _, url in started], env, tmp_path, redis, settings, slow)
        finally:
            for proc, _ in started:
                os.killpg(proc.pid, signal.SIGINT)
                proc.communicate(timeout=60)
            slow.stop()


def _statuses(urls: list[str], key: str, n: int) -> list[int]:
    async def burst() -> list[int]:
        fresh = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}, limits=fresh, timeout=120) as c:
            replies = await asyncio.gather(*(c.get(f"{urls[i % len(urls)]}/v1/documents") for i in range(n)))
        return [r.status_code for r in replies]

    return asyncio.run(burst())


@pytest.mark.slow
def test_three_serve_processes_share_limits_budgets_and_revocations(replicas: Replicas) -> None:
    # 1. the per-key RPM limit: exactly RPM of 3 x RPM concurrent requests pass, whichever process answers
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


def _docs(n: int) -> dict[str, bytes]:
    return {
        f"runbook{i}.md": f"# Runbook {i}\n\nRotate the billing key number {i} each quarter.\n".encode()
        for i in range(n)
    }


def _job(url: str, key: str, job_id: str) -> dict[str, Any]:
    r = httpx.get(f"{url}/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert r.status_code == 200, r.text
    job: dict[str, Any] = r.json()
    return job


def _wait(dsn: str, job_id: str, until: Callable[[Job], bool]) -> Job:
    """Poll the job's row in PostgreSQL (the replicas' per-key RPM limit would refuse polling through them)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with psycopg.connect(dsn) as conn:
            row = conn.execute("SELECT data FROM jobs WHERE id = %s", (job_id,)).fetchone()
        if row is not None and until(job := job_from_json(row[0])):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never got there")


def _count(dsn: str, sql: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(sql).fetchone()  # type: ignore[arg-type]
    return int(row[0]) if row else 0


@pytest.mark.slow
def test_an_upload_through_one_replica_is_ingested_by_a_worker_once_despite_a_kill(replicas: Replicas) -> None:
    writer = replicas.key("ingest", scopes=("read", "write"))
    first, second, third = replicas.urls
    n = 6
    r = httpx.post(
        f"{first}/v1/documents",
        files=[("files", (name, data)) for name, data in _docs(n).items()],
        headers={"Authorization": f"Bearer {writer}"},
        timeout=30,
    )
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    worker = replicas.worker()
    dsn = replicas.settings.store_dsn()
    _wait(dsn, job_id, lambda j: j.status == "running" and j.files_done >= 2)
    os.killpg(worker.pid, signal.SIGKILL)  # the worker and its ingest subprocess, mid-job
    worker.wait()
    committed = _count(dsn, "SELECT count(*) FROM documents WHERE tenant = 'ingest'")
    assert 1 <= committed < n, committed
    again = replicas.worker()
    try:
        _wait(dsn, job_id, lambda j: j.finished)
    finally:
        os.killpg(again.pid, signal.SIGTERM)
        again.wait(60)
    done = _job(third, writer, job_id)  # as any replica reports it
    assert done["status"] == "succeeded" and done["attempts"] == 2 and done["result"]["added"] == n, done
    assert _count(dsn, "SELECT count(*) FROM documents WHERE tenant = 'ingest'") == n
    assert _count(dsn, "SELECT count(*) FROM chunks WHERE tenant = 'ingest'") == n  # one chunk each, none twice
    assert _count(dsn, "SELECT n_chunks FROM tenants WHERE tenant = 'ingest'") == n
    for url in (second, third):  # searchable through the replicas that did not receive the upload
        hits = httpx.post(
            f"{url}/v1/search",
            json={"query": "rotate the billing key number 4", "k": 3},
            headers={"Authorization": f"Bearer {writer}"},
            timeout=30,
        ).json()["hits"]
        assert hits and hits[0]["doc_id"] == "runbook4.md", hits


@pytest.mark.slow
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(docs=docs_st, keys=keys_st, user_tags=filter_st)
def test_tenant_isolation_holds_through_every_replica(
    replicas: Replicas, docs: list[Doc], keys: list[tuple[int, frozenset[str]]], user_tags: list[str] | None
) -> None:
    writer = Ragwright(replicas.settings)
    try:
        check_isolation(
            replicas.urls,
            writer,
            lambda tenant, tags: replicas.key(tenant, scopes=("read",), tags=tuple(sorted(tags))),
            replicas.cwd,
            docs,
            keys,
            user_tags,
        )
    finally:
        writer.close()
