"""The service's framework 404 and 405 do not echo the request back: a fixed message, whatever the path held."""

from __future__ import annotations

from tests.http.conftest import Server

MARK = "sk-live-0123456789abcdef"


def test_unknown_routes_and_methods_get_a_fixed_message(server: Server) -> None:
    with server.client(server.key()) as c:
        replies = [
            (c.get(f"/v1/{MARK}/<script>x</script>", params={"key": MARK}), 404),
            (c.get(f"/{MARK}"), 404),
            (c.request("PURGE", "/v1/search", params={"key": MARK}), 405),
            (c.put("/v1/search", params={"key": MARK}), 405),
        ]
    for r, status in replies:
        assert r.status_code == status, r.text
        assert MARK not in r.text and "script" not in r.text and "PURGE" not in r.text, r.text
    assert replies[0][0].json() == replies[1][0].json()
    assert replies[2][0].json() == replies[3][0].json()
