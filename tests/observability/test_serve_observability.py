"""`serve`'s answer metrics and X-Request-Id on serve and `mcp --http`, over real loopback HTTP."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.http.conftest import Server


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value for f in text_string_to_metric_families(text) for s in f.samples
    }


def test_answers_are_counted_with_their_stages_and_abstentions(server: Server) -> None:
    key = server.key()
    server.upload(key, {"pump.md": b"# Heat pump\n\nThe outdoor unit runs at 38 dB at night.\n"})
    with server.client(key) as c:
        assert c.post("/v1/answer", json={"question": "How loud is the outdoor unit at night?"}).status_code == 200
        streamed = c.post("/v1/answer", json={"question": "What is the capital of Peru?", "stream": True})
        assert streamed.status_code == 200
        found = _samples(c.get("/metrics").text)
    assert found[("ragwright_answers_total", frozenset({("answered_by", "extractive")}))] == 1
    assert found[("ragwright_answers_total", frozenset({("answered_by", "abstained")}))] == 1
    assert found[("ragwright_answer_abstentions_total", frozenset({("reason", "weak_evidence")}))] == 1
    assert found[("ragwright_answer_answerability_count", frozenset())] == 2
    assert found[("ragwright_answer_stage_duration_seconds_count", frozenset({("stage", "evidence")}))] == 2
    assert found[("ragwright_answer_stage_duration_seconds_count", frozenset({("stage", "retrieve.keyword")}))] == 2


def test_every_serve_response_carries_a_request_id(server: Server) -> None:
    key = server.key()
    with httpx.Client(base_url=server.url, timeout=30) as c:
        mine = c.get("/healthz", headers={"X-Request-Id": "lb-7f3a.1"})
        assert mine.headers["x-request-id"] == "lb-7f3a.1"
        assert c.get("/healthz", headers={"X-Request-Id": "a b\tc"}).headers["x-request-id"] != "a b\tc"
        seen = [
            c.get("/v1/documents"),  # 401
            c.get("/v1/documents", headers={"Authorization": f"Bearer {key}"}),
            c.get("/no/such/route"),
            c.post("/v1/search", headers={"Authorization": f"Bearer {key}"}, content=b"{"),  # 400
            c.get("/metrics"),
        ]
    assert [r.status_code // 100 for r in seen] == [4, 2, 4, 4, 2]
    assert len({r.headers["x-request-id"] for r in seen}) == len(seen)


def test_mcp_http_responses_carry_a_request_id(server: Server) -> None:
    """``mcp --http``: refused and served requests alike."""
    import contextlib

    from ragwright.app import Ragwright
    from ragwright.interfaces.mcp.http import build_http_app
    from ragwright.interfaces.mcp.ratelimit import KeyRateLimiter
    from ragwright.interfaces.mcp.server import build_server, key_from_http
    from ragwright.interfaces.mcp.tools import RagTools
    from ragwright.service.keys import KeyStore
    from tests.http.conftest import run_server

    key = server.key()
    rw = Ragwright(server.settings)
    keys = KeyStore(server.settings.data_dir / "keys.sqlite")
    app = build_http_app(build_server(RagTools(rw), key_from_http, KeyRateLimiter(None)), keys)
    params = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}
    accept = {"Accept": "application/json, text/event-stream"}
    try:
        with contextlib.contextmanager(run_server)(app) as url:  # type: ignore[arg-type]
            refused = httpx.post(f"{url}/mcp", json=init, headers={**accept, "X-Request-Id": "mcp-1"}, timeout=30)
            served = httpx.post(
                f"{url}/mcp", json=init, headers={**accept, "Authorization": f"Bearer {key}"}, timeout=30
            )
    finally:
        rw.close()
        keys.close()
    assert refused.status_code == 401 and refused.headers["x-request-id"] == "mcp-1"
    assert served.status_code == 200 and served.headers["x-request-id"] not in ("", "mcp-1")
