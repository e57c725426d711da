"""Uploads keep the key's tag limits on what is actually written (the same rule as MCP ``ingest``):

- a tag-limited key cannot replace a document it may not see: the file fails in the job's result with a neutral
  reason (the name is not available to this key; nothing about the other document), and the document stays;
- the tags a document carries after loading (Markdown front matter included) must all be the key's own.
"""

from __future__ import annotations

from typing import Any

from tests.http.conftest import Server

BOARD = b"# Board minutes\n\nThe board approved the takeover of Walrus Ltd for 12 million.\n"
PUBLIC_BOARD = b"# Board\n\nOur board meets every quarter in public.\n"
FRONT_MATTER = b"---\ntags: [internal, finance]\n---\n# Budget\n\nThe finance budget is 4 million for the zeppelin.\n"


def _search(server: Server, key: str, query: str) -> list[dict[str, Any]]:
    with server.client(key) as c:
        r = c.post("/v1/search", json={"query": query, "k": 10})
        assert r.status_code == 200, r.text
        hits: list[dict[str, Any]] = r.json()["hits"]
        return hits


def test_tag_limited_upload_cannot_overwrite_a_document_it_cannot_see(server: Server) -> None:
    internal = server.key(tags=("internal",))
    public = server.key(tags=("public",))
    assert server.upload(internal, {"board.md": BOARD})["result"]["added"] == 1
    with server.client(public) as c:
        assert c.delete("/v1/documents/board.md").status_code == 404
    job = server.upload(public, {"board.md": PUBLIC_BOARD, "own.md": b"# Own\n\nA public note about owls.\n"})
    result = job["result"]
    assert (result["updated"], result["added"], result["failed"]) == (0, 1, 1)
    reason = result["failures"][0]["reason"]
    assert result["failures"][0]["path"] == "board.md"
    assert reason == "this key may not write a document named 'board.md'"
    assert "internal" not in reason and "exist" not in reason  # says nothing about the other document
    hits = _search(server, internal, "takeover Walrus board")
    assert hits and hits[0]["doc_id"] == "board.md" and "takeover" in hits[0]["text"]
    with server.client(server.key()) as c:
        docs = {d["id"]: d["tags"] for d in c.get("/v1/documents").json()["data"]}
    assert docs == {"board.md": ["internal"], "own.md": ["public"]}
    # the owner scope may still replace it
    assert server.upload(internal, {"board.md": PUBLIC_BOARD})["result"]["updated"] == 1


def test_front_matter_tags_outside_the_key_are_refused_per_file(server: Server) -> None:
    public = server.key(tags=("public",))
    job = server.upload(public, {"budget.md": FRONT_MATTER, "ok.md": b"# Ok\n\nOtters are public.\n"})
    result = job["result"]
    assert (result["added"], result["failed"]) == (1, 1)
    failure = result["failures"][0]
    assert failure["path"] == "budget.md" and "finance" in failure["reason"] and "internal" in failure["reason"]
    internal = server.key(tags=("internal",))
    assert _search(server, internal, "zeppelin finance budget") == []
    with server.client(server.key()) as c:
        assert [d["id"] for d in c.get("/v1/documents").json()["data"]] == ["ok.md"]
    # an unrestricted key keeps the file's own tags
    writer = server.key()
    assert server.upload(writer, {"budget.md": FRONT_MATTER})["result"]["added"] == 1
    assert _search(server, internal, "zeppelin finance budget")[0]["doc_id"] == "budget.md"
