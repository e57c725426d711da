"""Two service replicas (two uvicorn servers in this process, each with its own ServiceState, event loop and Redis
connections) sharing one key store and one real redis-server: a key revoked with `ragwright keys revoke` is refused
by both on their next request, the per-key limit is one window across them under concurrent load, and Redis going
away answers 503 from the one error table, never a silently local limit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ragwright.config import RedisSettings, Settings, load_settings
from ragwright.interfaces.cli.keys import keys_app
from ragwright.interfaces.http.app import create_app
from ragwright.testing import ScriptedGateway
from ragwright.testing.redis_server import RedisServer
from tests.conftest import REDIS_TIMEOUT
from tests.http.conftest import clean_env, run_server


def _settings(data_dir: Path, redis: RedisSettings, rpm: int | None) -> Settings:
    return load_settings(
        data_dir=data_dir,
        embedding={"model": "fake"},
        service={"rate_limit_rpm": rpm},
        gateway={"ledger": False},
        redis=redis.model_dump(),
    )


@pytest.fixture
def replicas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """Two replicas' URLs; ``request.param``: (RedisSettings fixture name, rpm)."""
    monkeypatch.chdir(tmp_path)
    clean_env(monkeypatch)
    name, rpm = request.param
    redis: RedisSettings = request.getfixturevalue(name)
    settings = _settings(tmp_path / "index", redis, rpm)
    with ExitStack() as stack:
        urls = []
        for _ in range(2):
            servers = run_server(create_app(settings, gateway=ScriptedGateway({})))
            urls.append(next(servers))
            stack.callback(lambda s=servers: next(s, None))
        yield urls


@pytest.fixture
def own_redis_settings(own_redis_server: RedisServer) -> RedisSettings:
    return RedisSettings(url=own_redis_server.url, prefix="own", timeout=REDIS_TIMEOUT)


def _key(data_dir: Path) -> tuple[str, str]:
    out = CliRunner().invoke(keys_app, ["create", "--tenant", "acme", "--json", "--data-dir", str(data_dir)])
    assert out.exit_code == 0, out.output
    created = json.loads(out.stdout)
    return created["key"], created["key_id"]


def _get(url: str, key: str) -> httpx.Response:
    return httpx.get(f"{url}/v1/documents", headers={"Authorization": f"Bearer {key}"}, timeout=30)


@pytest.mark.parametrize("replicas", [("redis_settings", None)], indirect=True)
def test_a_revoked_key_is_refused_by_every_replica_on_its_next_request(
    replicas: list[str], tmp_path: Path, redis_settings: RedisSettings
) -> None:
    raw, key_id = _key(tmp_path / "index")
    assert [_get(url, raw).status_code for url in replicas] == [200, 200]  # both now trust the key for a second
    env = {"RAGWRIGHT_REDIS__URL": redis_settings.url or "", "RAGWRIGHT_REDIS__PREFIX": redis_settings.prefix}
    out = CliRunner().invoke(keys_app, ["revoke", key_id, "--data-dir", str(tmp_path / "index")], env=env)
    assert out.exit_code == 0, out.output
    refused = [_get(url, raw) for url in replicas]  # within the verified-key second, yet refused at once
    assert [r.status_code for r in refused] == [401, 401]
    assert all("revoked" in r.json()["error"]["message"] for r in refused)


@pytest.mark.parametrize("replicas", [("redis_settings", 12)], indirect=True)
def test_the_per_key_limit_is_one_window_across_replicas_under_concurrent_load(
    replicas: list[str], tmp_path: Path, redis_settings: RedisSettings
) -> None:
    raw, _ = _key(tmp_path / "index")

    async def burst() -> list[int]:
        headers = {"Authorization": f"Bearer {raw}"}
        async with httpx.AsyncClient(headers=headers, timeout=60) as client:
            calls = [client.get(f"{replicas[i % 2]}/v1/documents") for i in range(40)]
            return [r.status_code for r in await asyncio.gather(*calls)]

    statuses = asyncio.run(burst())
    assert statuses.count(200) == 12 and statuses.count(429) == 28


@pytest.mark.parametrize("replicas", [("own_redis_settings", 100)], indirect=True)
def test_redis_going_away_is_a_503_not_a_local_limit(
    replicas: list[str], tmp_path: Path, own_redis_server: RedisServer, own_redis_settings: RedisSettings
) -> None:
    raw, _ = _key(tmp_path / "index")
    assert _get(replicas[0], raw).status_code == 200
    assert httpx.get(f"{replicas[0]}/readyz", timeout=30).json()["checks"]["redis"] == "ok"
    own_redis_server.stop()
    ready = httpx.get(f"{replicas[0]}/readyz", timeout=30)
    assert ready.status_code == 503 and ready.json()["checks"]["redis"] == "error: unreachable"
    r = _get(replicas[1], raw)
    assert r.status_code == 503 and r.headers["Retry-After"] == "1"
    assert r.json()["error"]["type"] == "unavailable" and "Redis" in r.json()["error"]["message"]
    own_redis_server.start()
    statuses = [_get(replicas[i % 2], raw).status_code for i in range(6)]  # a stale pooled connection fails once
    assert statuses[-2:] == [200, 200]
