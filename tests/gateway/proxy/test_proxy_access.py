"""Issue 12 items 6 and 8 (gateway side): `ragwright gateway serve` requires an API key by default; `--no-auth` is
for a loopback host only; a client-named tenant is validated; a request with two Authorization headers is refused;
an upstream's 4xx caused by one client's request does not count against the provider's circuit breaker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from ragwright.config import load_settings
from ragwright.errors import UserError
from ragwright.gateway.build import Gateway
from ragwright.gateway.proxy import ProxyApp
from ragwright.interfaces.cli.gateway import gateway_app
from ragwright.service.keys import KeyStore, key_path
from ragwright.testing import FakeChatModel
from ragwright.testing.provider_servers import OpenAIServer, Plan

BODY = {"model": "default", "messages": [{"role": "user", "content": "hi"}]}


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "ragwright.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n[gateway]\nchain = ["fake:echo"]\nledger = false\n')
    return config


def _served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *args: str) -> tuple[Any, ProxyApp | None]:
    """Run `ragwright gateway serve ARGS` in process (a one-command Typer app takes no command name), capturing the
    proxy it would serve instead of serving it."""
    served: list[ProxyApp] = []
    monkeypatch.setattr("ragwright.gateway.proxy.serve", lambda proxy, **kw: served.append(proxy))
    result = CliRunner().invoke(gateway_app, ["--config", str(_config(tmp_path)), *args])
    return result, (served[0] if served else None)


def test_serve_requires_a_key_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, serve_proxy: Any) -> None:
    result, proxy = _served(monkeypatch, tmp_path)
    assert result.exit_code == 0 and proxy is not None, result.output
    with KeyStore(key_path(load_settings(_config(tmp_path)))) as keys:
        raw, _ = keys.create("acme")
    url = serve_proxy(proxy)
    with httpx.Client(base_url=url, timeout=10) as c:
        assert c.post("/chat/completions", json=BODY).status_code == 401  # before: 200, open to anyone
        assert c.post("/chat/completions", json=BODY, headers={"x-ragwright-tenant": "victim"}).status_code == 401
        assert c.get("/models").status_code == 401
        ok = c.post("/chat/completions", json=BODY, headers={"authorization": f"Bearer {raw}"})
        assert ok.status_code == 200, ok.text


def test_no_auth_is_refused_off_loopback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for host in ("0.0.0.0", "192.168.1.20", "::", "example.org"):
        result, proxy = _served(monkeypatch, tmp_path, "--no-auth", "--host", host)
        assert isinstance(result.exception, UserError) and proxy is None, (host, result.output)  # the CLI: exit 2
        assert "--no-auth is for local development" in str(result.exception)
    from ragwright.interfaces.cli.gateway import is_loopback

    assert [is_loopback(h) for h in ("127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost")] == [True] * 5


def test_no_auth_validates_the_tenant_a_client_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, serve_proxy: Any
) -> None:
    result, proxy = _served(monkeypatch, tmp_path, "--no-auth")
    assert result.exit_code == 0 and proxy is not None, result.output
    url = serve_proxy(proxy)
    with httpx.Client(base_url=url, timeout=10) as c:
        assert c.post("/chat/completions", json=BODY).status_code == 200  # the default tenant
        assert c.post("/chat/completions", json=BODY, headers={"x-ragwright-tenant": "acme-2"}).status_code == 200
        for bad in ("../../x", "a" * 5000, "", "a b", "x/"):
            r = c.post("/chat/completions", json=BODY, headers={"x-ragwright-tenant": bad})
            assert r.status_code == 400 and r.json()["error"]["type"] == "bad_request", (bad[:20], r.text)
            assert bad not in r.text or not bad
        two = [("x-ragwright-tenant", "a"), ("x-ragwright-tenant", "b")]
        assert c.post("/chat/completions", json=BODY, headers=two).status_code == 400


def test_two_authorization_headers_are_refused(serve_proxy: Any, stub: Any) -> None:
    """HTTP and MCP read the first Authorization header, the gateway read the last: a request with two could be
    checked as one caller and served as another. Now it is a 400 before any key is looked at."""
    seen: list[str] = []

    async def authenticate(raw: str) -> Any:
        seen.append(raw)
        from ragwright.gateway.types import RequestContext

        return RequestContext(tenant="acme", key_id="k1")

    url = serve_proxy(ProxyApp(stub({"default": FakeChatModel(["ok"], cycle=True)}), authenticate=authenticate))
    two = [("authorization", "Bearer first-key"), ("authorization", "Bearer second-key")]
    with httpx.Client(base_url=url, timeout=10) as c:
        r = c.post("/chat/completions", json=BODY, headers=two)
        assert r.status_code == 400 and "more than one Authorization header" in r.json()["error"]["message"]
        assert c.get("/models", headers=two).status_code == 400
        assert seen == []
        assert c.post("/chat/completions", json=BODY, headers=[two[0]]).status_code == 200


@pytest.mark.parametrize("status", [400, 404, 413, 422])
async def test_a_clients_bad_requests_do_not_open_the_breaker(tmp_path: Path, status: int) -> None:
    """Five upstream 4xx replies to one client's bad requests leave the breaker closed for everyone else."""
    from ragwright.errors import ProviderHTTPError
    from ragwright.gateway.types import ChatRequest, Message

    with OpenAIServer() as upstream:
        settings = load_settings(
            data_dir=tmp_path,
            gateway={
                "chain": ["up:gpt-x"],
                "ledger": False,
                "cache": {"exact": False},
                "retry": {"max_attempts": 1},
                "breaker": {"consecutive_failures": 2, "min_calls": 2, "cooldown": 60},
                "providers": {"up": {"kind": "openai", "base_url": upstream.base_url}},
            },
        )
        gateway = Gateway(settings)
        request = ChatRequest(model="default", messages=(Message("user", "hi"),))
        upstream.enqueue(*[Plan(status=status, error_message="your request is wrong")] * 5)
        for _ in range(5):
            with pytest.raises(ProviderHTTPError):
                await gateway.model("default").chat(request)
        reply = await gateway.model("default").chat(request)  # the provider still serves the next client
        assert reply.text
        await gateway.aclose()
