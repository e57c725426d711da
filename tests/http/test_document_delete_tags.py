"""``DELETE /v1/documents/{id}`` finds the one document by id (``Store.document``) and keeps the key's tag limits:
a tag-limited key gets the same 404 for a document it may not see as for one that does not exist, and the document
stays."""

from __future__ import annotations

from tests.http.conftest import Server

HR = b"# Vacation\n\nEmployees get 25 vacation days per year.\n"
PUBLIC = b"# Key rotation\n\nRotate the API key every 90 days from the admin console.\n"


def test_tag_limited_key_gets_404_for_a_forbidden_document_like_a_missing_one(server: Server) -> None:
    writer = server.key()
    assert server.upload(writer, {"vacation.md": HR}, tags="hr")["result"]["added"] == 1
    assert server.upload(writer, {"rotation.md": PUBLIC}, tags="public")["result"]["added"] == 1
    public_writer = server.key(tags=("public",))
    with server.client(public_writer) as c:
        forbidden = c.delete("/v1/documents/vacation.md")
        missing = c.delete("/v1/documents/nothing.md")
        assert forbidden.status_code == missing.status_code == 404
        assert forbidden.json()["error"]["type"] == missing.json()["error"]["type"] == "not_found"
        assert forbidden.json()["error"]["message"] == "no document 'vacation.md' in knowledge base 'default'"
        assert c.delete("/v1/documents/rotation.md").status_code == 200  # its own tag: allowed
    with server.client(writer) as c:
        assert [d["id"] for d in c.get("/v1/documents").json()["data"]] == ["vacation.md"]  # still there
        assert c.delete("/v1/documents/vacation.md").status_code == 200
        assert c.delete("/v1/documents/vacation.md").status_code == 404
