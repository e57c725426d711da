"""What the Documents page needs over HTTP: search and filter the list, a document's chunks, and editing its tags,
each under the key's tag limits (a forbidden document answers like a missing one)."""

from __future__ import annotations

from tests.http.conftest import Server

GUIDE = b"# Kettle guide\n\n## Descaling\n\nDescale the kettle monthly.\n\n## Warranty\n\nThree years of warranty.\n"
HR = b"# Vacation\n\nEmployees get 25 vacation days per year.\n"
NOTES = b"Plain notes about the kettle lid.\n"


def _ids(page: dict) -> list[str]:  # type: ignore[type-arg]
    return [d["id"] for d in page["data"]]


def test_list_is_searched_and_filtered_by_tag_and_type_within_the_keys_tags(server: Server) -> None:
    writer = server.key()
    assert server.upload(writer, {"guide.md": GUIDE, "notes.txt": NOTES}, tags="public")["result"]["added"] == 2
    assert server.upload(writer, {"vacation.md": HR}, tags="hr")["result"]["added"] == 1
    public = server.key(tags=("public",))
    with server.client(writer) as c:
        assert _ids(c.get("/v1/documents", params={"q": "KETTLE"}).json()) == ["guide.md"]  # title, any case
        assert _ids(c.get("/v1/documents", params={"q": "notes"}).json()) == ["notes.txt"]  # id
        assert _ids(c.get("/v1/documents", params={"file_type": "md"}).json()) == ["guide.md", "vacation.md"]
        assert _ids(c.get("/v1/documents", params=[("file_type", "txt"), ("file_type", "md")]).json()) == [
            "guide.md",
            "notes.txt",
            "vacation.md",
        ]
        assert _ids(c.get("/v1/documents", params={"tag": "hr"}).json()) == ["vacation.md"]
        first = c.get("/v1/documents", params={"file_type": "md", "limit": 1}).json()
        assert _ids(first) == ["guide.md"] and first["has_more"] is True
        rest = c.get("/v1/documents", params={"file_type": "md", "limit": 1, "after": first["next_cursor"]}).json()
        assert _ids(rest) == ["vacation.md"] and rest["has_more"] is False
        bad = c.get("/v1/documents", params={"tag": "no spaces allowed"})
        assert bad.status_code == 400 and bad.json()["error"]["type"] == "bad_request"
    with server.client(public) as c:
        assert _ids(c.get("/v1/documents", params={"file_type": "md"}).json()) == ["guide.md"]
        assert _ids(c.get("/v1/documents", params={"tag": "hr"}).json()) == []  # narrows, never widens
        assert _ids(c.get("/v1/documents", params={"q": "vacation"}).json()) == []


def test_chunks_show_how_a_document_was_split_and_hide_forbidden_documents(server: Server) -> None:
    writer = server.key()
    server.upload(writer, {"guide.md": GUIDE}, tags="public")
    server.upload(writer, {"vacation.md": HR}, tags="hr")
    with server.client(writer) as c:
        got = c.get("/v1/documents/guide.md/chunks").json()
    assert got["document"]["id"] == "guide.md" and got["document"]["chunks"] == len(got["chunks"]) >= 1
    assert [ch["ordinal"] for ch in got["chunks"]] == list(range(len(got["chunks"])))
    assert any(ch["heading_path"][-1:] == ["Warranty"] for ch in got["chunks"])
    assert all(ch["char_end"] > ch["char_start"] and ch["text"] for ch in got["chunks"])
    with server.client(server.key(tags=("public",))) as c:
        forbidden = c.get("/v1/documents/vacation.md/chunks")
        missing = c.get("/v1/documents/nothing.md/chunks")
    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.json()["error"]["message"] == "no document 'vacation.md' in knowledge base 'default'"


def test_tags_are_replaced_and_searches_follow_them(server: Server) -> None:
    writer = server.key()
    server.upload(writer, {"vacation.md": HR}, tags="hr")
    public_reader = server.key(scopes=("read",), tags=("public",))
    with server.client(public_reader) as c:
        assert c.post("/v1/search", json={"query": "vacation days"}).json()["hits"] == []
        assert c.patch("/v1/documents/vacation.md", json={"tags": ["public"]}).status_code == 403  # read scope
    with server.client(writer) as c:
        r = c.patch("/v1/documents/vacation.md", json={"tags": ["public", "hr", "public"]})
        assert r.status_code == 200 and r.json()["tags"] == ["hr", "public"]
        assert c.patch("/v1/documents/nothing.md", json={"tags": ["x"]}).status_code == 404
        assert c.patch("/v1/documents/vacation.md", json={"tags": ["bad tag"]}).status_code == 400
    with server.client(public_reader) as c:  # the new tag opens it to the public key at once
        hits = c.post("/v1/search", json={"query": "vacation days"}).json()["hits"]
        assert [h["doc_id"] for h in hits] == ["vacation.md"]
    public_writer = server.key(tags=("public",))
    with server.client(public_writer) as c:
        outside = c.patch("/v1/documents/vacation.md", json={"tags": ["public", "finance"]})
        assert outside.status_code == 403 and outside.json()["error"]["type"] == "forbidden"
        assert c.patch("/v1/documents/vacation.md", json={"tags": []}).status_code == 403  # could not read it after
        assert c.patch("/v1/documents/vacation.md", json={"tags": ["public"]}).json()["tags"] == ["public"]
    with server.client(server.key(tags=("hr",))) as c:  # no longer hr's
        assert c.patch("/v1/documents/vacation.md", json={"tags": ["hr"]}).status_code == 404
