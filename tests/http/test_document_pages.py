"""``GET /v1/documents`` pages (keyset on the document id) against a real uvicorn server: walking every page,
tag-limited keys across pages, cursors that cannot cross tenants, bad cursors (400) and limit bounds (422)."""

from __future__ import annotations

from typing import Any

import httpx

from ragwright.service.pages import encode_cursor
from tests.http.conftest import Server, both_backends

pytestmark = both_backends


def _doc(i: int) -> bytes:
    return f"# Note {i}\n\nThe note number {i} about rockets and kettles.\n".encode()


def _walk(c: httpx.Client, limit: int, kb: str = "default") -> tuple[list[str], list[dict[str, Any]]]:
    ids: list[str] = []
    pages: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit, "knowledge_base": kb}
    while True:
        r = c.get("/v1/documents", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        pages.append(body)
        assert len(body["data"]) <= limit and body["object"] == "list"
        ids += [d["id"] for d in body["data"]]
        if not body["has_more"]:
            assert body["next_cursor"] is None
            return ids, pages
        assert isinstance(body["next_cursor"], str) and body["data"]
        params["after"] = body["next_cursor"]
        assert len(pages) < 100


def test_walking_all_pages_lists_every_document_once_in_id_order(server: Server) -> None:
    key = server.key()
    names = [f"n{i:02d}.md" for i in range(11)]
    job = server.upload(key, {n: _doc(i) for i, n in enumerate(names)})
    assert job["result"]["added"] == 11
    with server.client(key) as c:
        ids, pages = _walk(c, 3)
        assert ids == sorted(names) and len(pages) == 4 and [len(p["data"]) for p in pages] == [3, 3, 3, 2]
        ids, pages = _walk(c, 11)  # an exact fit: no empty trailing page
        assert ids == sorted(names) and len(pages) == 1 and pages[0]["has_more"] is False
        everything = c.get("/v1/documents").json()  # default limit 100: the old response plus the new fields
        assert [d["id"] for d in everything["data"]] == sorted(names)
        assert everything["has_more"] is False and everything["next_cursor"] is None
        assert set(everything["data"][0]) == {
            "object",
            "id",
            "knowledge_base",
            "file_type",
            "title",
            "chunks",
            "tags",
            "ingested_at",
        }


def test_tag_limited_keys_see_only_their_documents_across_pages(server: Server) -> None:
    writer = server.key()
    public = {f"p{i:02d}.md": _doc(i) for i in range(7)}
    hr = {f"h{i:02d}.md": _doc(100 + i) for i in range(6)}
    server.upload(writer, public, tags="public")
    server.upload(writer, hr, tags="hr")
    with server.client(server.key(scopes=("read",), tags=("public",))) as c:
        ids, pages = _walk(c, 2)
        assert ids == sorted(public) and len(pages) == 4
        assert all(d["tags"] == ["public"] for p in pages for d in p["data"])
    with server.client(server.key(scopes=("read",), tags=("hr",))) as c:
        assert _walk(c, 4)[0] == sorted(hr)
        # A cursor pointing before the other tag's documents still yields only this key's own documents.
        r = c.get("/v1/documents", params={"limit": 50, "after": encode_cursor("a")})
        assert [d["id"] for d in r.json()["data"]] == sorted(hr)
    with server.client(writer) as c:
        assert _walk(c, 5)[0] == sorted([*public, *hr])


def test_a_cursor_only_encodes_a_position_never_another_tenants_data(server: Server) -> None:
    acme, globex = server.key("acme"), server.key("globex")
    server.upload(acme, {f"a{i}.md": _doc(i) for i in range(5)})
    server.upload(globex, {"g0.md": _doc(50), "g1.md": _doc(51)})
    with server.client(acme) as c:
        cursor = c.get("/v1/documents", params={"limit": 2}).json()["next_cursor"]
    with server.client(globex) as c:
        r = c.get("/v1/documents", params={"limit": 10, "after": cursor})
        assert r.status_code == 200 and [d["id"] for d in r.json()["data"]] == ["g0.md", "g1.md"]
        r = c.get("/v1/documents", params={"limit": 10, "after": encode_cursor("a"), "knowledge_base": "other"})
        assert r.status_code == 200 and r.json()["data"] == []


def test_bad_cursor_is_400_and_limit_out_of_bounds_is_422(server: Server) -> None:
    key = server.key()
    server.upload(key, {"a.md": _doc(1), "b.md": _doc(2)})
    with server.client(key) as c:
        for bad in ("not a cursor!", "", "abc", "x" * 5000, encode_cursor("a.md")[:-3] + "@@@", "dXY6YQ"):
            r = c.get("/v1/documents", params={"after": bad})
            assert r.status_code == 400, (bad, r.text)
            assert r.json()["error"]["type"] == "bad_request" and "cursor" in r.json()["error"]["message"]
        for limit in (0, -1, 1001, "many"):
            r = c.get("/v1/documents", params={"limit": limit})
            assert r.status_code == 422, (limit, r.text)
            assert r.json()["error"]["type"] == "invalid_request"
        for limit in (1, 1000):
            assert c.get("/v1/documents", params={"limit": limit}).status_code == 200
        assert c.get("/v1/documents", params={"after": encode_cursor("a.md")}).json()["data"][0]["id"] == "b.md"
