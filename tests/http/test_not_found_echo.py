"""A 404 for an id the client sent names it only as a short, quoted, cleaned copy: at most 64 characters, letters,
digits and ``. _ - / : @`` and spaces (anything else becomes ``?``), secrets redacted. A client cannot put a line
break, markup or an unbounded string into the response (or a log line that quotes it) by asking for a missing id."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from ragwright.redact import quote_id
from tests.http.conftest import Server

MARK = "sk-live-0123456789abcdef"
HOSTILE = f"{'x' * 300}\r\nX-Injected: {MARK} <script>alert(1)<\\script>\x1b[31m\u202e"


def _calls(c: httpx.Client) -> list[tuple[str, httpx.Response]]:
    doc = {"doc_id": HOSTILE}
    raw = quote(HOSTILE, safe="")  # percent-encoded in the path: the server decodes it back to HOSTILE
    path = quote(HOSTILE.replace("\r\n", " "), safe="")  # a {doc_id:path} route never matches a line break
    return [
        ("GET job", c.get(f"/v1/jobs/{raw}")),
        ("cancel job", c.post(f"/v1/jobs/{raw}/cancel")),
        ("chunks", c.get(f"/v1/documents/{path}/chunks")),
        ("tags", c.patch(f"/v1/documents/{path}", json={"tags": ["a"]})),
        ("delete", c.delete(f"/v1/documents/{path}")),
        ("original", c.get("/v1/citations/original", params=doc)),
        ("citation", c.get("/v1/citations/source", params={**doc, "chunk_id": "ab12", "start": 0, "end": 1})),
        ("agent run", c.get(f"/v1/agent/runs/{quote(HOSTILE[:150], safe='')}")),
        ("trace", c.get(f"/v1/traces/{quote(HOSTILE[:60], safe='')}")),
        ("eval run", c.get(f"/v1/evals/runs/{raw}/status")),
    ]


def test_a_404_never_echoes_the_raw_id(server: Server) -> None:
    with server.client(server.key(scopes=("admin",))) as c:
        replies = _calls(c)
    for what, r in replies:
        assert r.status_code in (400, 404), (what, r.text)  # an eval run name is checked: a 400 names it the same way
        message: str = r.json()["error"]["message"]
        assert len(message) < 200, (what, message)
        for bad in ("\r", "\n", "\x1b", "\u202e", "<", ">", MARK, "x" * 65):
            assert bad not in message and bad not in json.loads(r.text)["error"]["message"], (what, bad, message)
        assert "xxxx" in message, (what, message)  # the id is still recognisable


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("docs/kettle manual.md", "'docs/kettle manual.md'"),
        ("3f2a9c", "'3f2a9c'"),
        ("a\nb<c>", "'a?b?c?'"),
        ("y" * 70, "'" + "y" * 64 + "…'"),
        (f"key {MARK}", "'key [redacted]'"),
        ("Résumé.pdf", "'Résumé.pdf'"),
    ],
)
def test_quote_id(value: str, shown: Any) -> None:
    assert quote_id(value) == shown
