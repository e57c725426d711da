"""The proxy's 404 and 405 do not echo the request back: a fixed message, whatever the path or method held."""

from __future__ import annotations

from typing import Any

import httpx

from ragwright.gateway.proxy import ProxyApp

MARK = "sk-live-0123456789abcdef"


def test_unknown_routes_and_methods_get_a_fixed_message(serve_proxy: Any, stub: Any) -> None:
    url = serve_proxy(ProxyApp(stub({})))
    with httpx.Client(base_url=url.removesuffix("/v1"), timeout=10) as c:
        replies = [
            c.get(f"/v1/{MARK}/<script>alert(1)</script>", params={"key": MARK}),
            c.request("PURGE", f"/v1/models/{MARK}"),
            c.delete("/v1/models"),
            c.get("/v1/chat/completions", params={"key": MARK}),
        ]
    for r in replies:
        assert r.status_code in (404, 405), r.text
        assert MARK not in r.text and "script" not in r.text and "PURGE" not in r.text, r.text
        assert r.json()["error"]["code"] in ("not_found", "method_not_allowed")
    assert replies[0].json() == replies[1].json() == replies[2].json()  # one fixed body for every unknown route
