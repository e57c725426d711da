"""The tools' inputs as pydantic models: each model's JSON schema is the tool's ``inputSchema``, and every call's
arguments are validated against it before anything runs (unknown fields are rejected).

Example::

    SearchArgs.model_validate({"query": "warranty", "k": 3}).k  # 3
    SearchArgs.model_validate({"query": ""})                  # ValidationError: at least 1 character
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ragwright.interfaces.mcp.access import DEFAULT_KB, KB_PATTERN
from ragwright.service.pages import DEFAULT_LIMIT, MAX_CURSOR_CHARS, MAX_LIMIT
from ragwright.store.base import Filters

Tag = str
_KB = Field(DEFAULT_KB, pattern=KB_PATTERN, description="Knowledge base to use ('default' unless told otherwise).")


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Filtered(_Args):
    knowledge_base: str = _KB
    tags: list[str] = Field(
        default_factory=list, max_length=32, description="Only documents carrying at least one of these tags."
    )
    paths: list[str] = Field(
        default_factory=list,
        max_length=32,
        description="Only documents whose id matches one of these globs, e.g. 'docs/*.md'.",
    )
    file_types: list[str] = Field(default_factory=list, max_length=8, description="Only these types: md, pdf, ...")

    def filters(self) -> Filters | None:
        f = Filters(paths=tuple(self.paths), file_types=tuple(self.file_types), tags=tuple(self.tags))
        return f if f else None


class SearchArgs(_Filtered):
    """Arguments of the ``search`` tool."""

    query: str = Field(min_length=1, max_length=2000, description="What to look for, in plain words.")
    k: int = Field(5, ge=1, le=50, description="How many passages to return.")
    mode: Literal["bm25", "dense", "hybrid"] | None = Field(None, description="Retrieval mode (default: server's).")


class AnswerArgs(_Filtered):
    """Arguments of the ``answer`` tool."""

    question: str = Field(min_length=1, max_length=2000, description="The question to answer from the documents.")


class ListDocumentsArgs(_Args):
    """Arguments of the ``list_documents`` tool."""

    knowledge_base: str = _KB
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="How many documents to return (in id order).")
    cursor: str | None = Field(
        None, max_length=MAX_CURSOR_CHARS, description="The next_cursor of the previous call, to get the next page."
    )


class GetDocumentArgs(_Args):
    """Arguments of the ``get_document`` tool."""

    doc_id: str = Field(min_length=1, max_length=1024, description="A document id from list_documents or a citation.")
    knowledge_base: str = _KB
    max_chars: int = Field(20_000, ge=100, le=500_000, description="Truncate the text after this many characters.")


class IngestArgs(_Args):
    """Arguments of the ``ingest`` tool: one document, as text (md, txt, html) or base64 bytes (pdf, docx)."""

    filename: str = Field(
        min_length=3,
        max_length=200,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.\-]*\.[A-Za-z0-9]{1,9}$",
        description="File name (the document id); its extension picks the loader: 'kettle.md'.",
    )
    text: str | None = Field(None, max_length=5_000_000, description="The document's text (md, txt, html).")
    content_base64: str | None = Field(None, max_length=14_000_000, description="The file's bytes (pdf, docx).")
    tags: list[Tag] = Field(default_factory=list, max_length=32, description="Tags to give the document.")
    knowledge_base: str = _KB

    @model_validator(mode="after")
    def _one_body(self) -> IngestArgs:
        if (self.text is None) == (self.content_base64 is None):
            raise ValueError("give exactly one of 'text' or 'content_base64'")
        return self
