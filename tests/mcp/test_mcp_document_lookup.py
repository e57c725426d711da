"""MCP ``get_document`` and ``ingest`` look one document up by id (``Store.document``) and keep the key's tag limits:
a document the key may not see reads exactly like a missing one, and may not be replaced."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.interfaces.mcp.access import local_key
from ragwright.interfaces.mcp.schemas import GetDocumentArgs, IngestArgs
from ragwright.interfaces.mcp.tools import RagTools, ToolFailure
from tests.mcp.conftest import Env, stdio_client, texts


@pytest.fixture
def tools(env: Env) -> Iterator[RagTools]:
    rw = Ragwright(load_settings(data_dir=env.data_dir, embedding={"model": "fake"}))
    yield RagTools(rw)
    rw.close()


async def test_get_document_hides_a_forbidden_document_like_a_missing_one(tools: RagTools) -> None:
    public = local_key("acme", tags=("public",))
    with pytest.raises(ToolFailure) as forbidden:
        await tools.get_document(public, GetDocumentArgs(doc_id="docs/internal/memo.md"))
    with pytest.raises(ToolFailure) as missing:
        await tools.get_document(public, GetDocumentArgs(doc_id="docs/internal/nothing.md"))
    assert str(forbidden.value) == "no document 'docs/internal/memo.md' in knowledge base 'default'"
    assert str(missing.value) == "no document 'docs/internal/nothing.md' in knowledge base 'default'"
    with pytest.raises(ToolFailure):  # another tenant's document
        await tools.get_document(local_key("acme"), GetDocumentArgs(doc_id="other/walrus.md"))
    seen = await tools.get_document(local_key("acme"), GetDocumentArgs(doc_id="docs/internal/memo.md"))
    assert seen["doc_id"] == "docs/internal/memo.md" and "42 percent" in seen["text"]
    own = await tools.get_document(public, GetDocumentArgs(doc_id="docs/public/kettle.md"))
    assert own["tags"] == ["public"] and "citric acid" in own["text"]


async def test_ingest_refuses_to_replace_a_document_the_key_may_not_see(tools: RagTools) -> None:
    writer = local_key("acme", scopes=("read", "write"))
    secret = await tools.ingest(
        writer, IngestArgs(filename="secret.md", text="# Secret\n\nThe vault code is 1234.", tags=["internal"])
    )
    assert secret["status"] == "added"
    public = local_key("acme", scopes=("read", "write"), tags=("public",))
    with pytest.raises(ToolFailure) as refused:
        await tools.ingest(public, IngestArgs(filename="secret.md", text="# Secret\n\noverwritten"))
    # neutral: the same refusal an HTTP upload gets, naming neither the other document's tags nor that it exists
    assert str(refused.value) == "this key may not write a document named 'secret.md'"
    with pytest.raises(ToolFailure):  # not even "unchanged" for the same bytes
        await tools.ingest(public, IngestArgs(filename="secret.md", text="# Secret\n\nThe vault code is 1234."))
    kept = tools.rw.store.document("acme", "secret.md")
    assert kept is not None and kept.tags == ("internal",) and kept.n_chunks == secret["chunks"]
    added = await tools.ingest(public, IngestArgs(filename="lookup-note.md", text="# Note\n\nThe samovar is brass."))
    again = await tools.ingest(public, IngestArgs(filename="lookup-note.md", text="# Note\n\nThe samovar is tin."))
    assert (added["status"], again["status"]) == ("added", "updated") and again["tags"] == ["public"]


async def test_ingest_refuses_front_matter_tags_outside_the_key(tools: RagTools) -> None:
    public = local_key("acme", scopes=("read", "write"), tags=("public",))
    text = "---\ntags: [internal, finance]\n---\n# Budget\n\nThe zeppelin budget is 4 million."
    with pytest.raises(ToolFailure) as refused:
        await tools.ingest(public, IngestArgs(filename="budget-fm.md", text=text))
    assert str(refused.value) == "the document would carry tags internal, finance; this key may only write public"
    assert tools.rw.store.document("acme", "budget-fm.md") is None


async def test_a_60000_character_glob_is_a_clear_tool_error(env: Env) -> None:
    async with stdio_client(env, "--tenant", "acme") as client:
        result = await client.call_tool("search", {"query": "kettle", "paths": ["a" * 60_000]})
        assert result.is_error and texts(result).startswith("path filter is 60000 characters long; at most 2048 (")
