"""Two ``Authorization`` headers are refused with 400 by ``serve`` and ``mcp --http`` alike: servers in front of
ragwright may read the first or the last, so neither is chosen here."""

from __future__ import annotations

import httpx

from tests.http.conftest import Server


def test_serve_refuses_two_authorization_headers(server: Server) -> None:
    good, bad = server.key(), "rw_000000000000_" + "x" * 43
    for pair in ((good, bad), (bad, good), (good, good)):
        r = httpx.post(
            f"{server.url}/v1/search",
            json={"query": "otter"},
            headers=[("Authorization", f"Bearer {pair[0]}"), ("Authorization", f"Bearer {pair[1]}")],
            timeout=30,
        )
        assert r.status_code == 400, r.text
        assert r.json() == {"error": {"type": "bad_request", "message": "more than one Authorization header"}}
    assert (
        httpx.post(
            f"{server.url}/v1/search", json={"query": "otter"}, headers={"Authorization": f"Bearer {good}"}
        ).status_code
        == 200
    )
