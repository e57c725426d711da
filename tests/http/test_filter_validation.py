"""Path globs are checked where requests come in: a glob SQLite would refuse (too long, too many wildcards, control
characters) is a 400 ``bad_request`` saying what is wrong, on every route and MCP tool that takes filters, never the
503 of an unreadable index."""

from __future__ import annotations

import pytest

from ragwright.errors import InvalidFilterError
from ragwright.store.base import MAX_GLOB_CHARS, Filters
from tests.http.conftest import Server

LONG = "a" * 60_000


@pytest.mark.parametrize(
    ("glob", "message"),
    [
        (LONG, f"path filter is 60000 characters long; at most {MAX_GLOB_CHARS}"),
        ("*" * 40 + "x", "path filter has 40 '*' wildcards; at most 32"),
        ("docs/\x00*", "path filter contains a control character"),
        ("", "path filter is empty"),
    ],
)
def test_bad_globs_are_400_on_search_and_answer(server: Server, glob: str, message: str) -> None:
    key = server.key()
    assert server.upload(key, {"a.md": b"# A\n\nThe otter swims.\n"})["status"] == "succeeded"
    with server.client(key) as c:
        for path, body in (("/v1/search", {"query": "otter"}), ("/v1/answer", {"question": "Who swims?"})):
            r = c.post(path, json={**body, "filters": {"paths": [glob]}})
            assert r.status_code == 400, r.text
            assert r.json() == {"error": {"type": "bad_request", "message": message}}
        ok = c.post("/v1/search", json={"query": "otter", "filters": {"paths": ["*.md"]}})
        assert ok.status_code == 200 and ok.json()["hits"]


def test_filters_refuse_a_bad_glob_wherever_they_are_built() -> None:
    with pytest.raises(InvalidFilterError):
        Filters(paths=("x" * (MAX_GLOB_CHARS + 1),))
    assert Filters(paths=("x" * MAX_GLOB_CHARS, "docs/[*]?*.md")).paths[1] == "docs/[*]?*.md"
