"""MCP prompts and resources: the prompt registry's prompts and the caller's documents, key by key.

- ``prompts/list`` shows every prompt of the key's tenant (the packaged ones and the tenant's own), each at the
  version its ``production`` label serves this key (A/B splits are sticky per key), with its variables as required
  arguments; ``prompts/get`` renders it with the arguments given (a missing or unknown one is an error naming it).
- ``resources/list`` pages through the documents of the key's default knowledge base that its tags let it read
  (``next_cursor`` while there are more); ``resources/templates/list`` gives the URI of a document in any knowledge
  base; ``resources/read`` returns a document's text with exactly the tenant and tag checks of the ``get_document``
  tool (a document the key may not read is reported as missing, as there).

A resource URI is ``ragwright://kb/<knowledge base>/doc/<document id, percent-encoded>``. Every method needs the
``read`` scope and counts against the key's rate limit, as tool calls do.

Example::

    uri = document_uri("default", "docs/kettle.md")   # "ragwright://kb/default/doc/docs%2Fkettle.md"
    parse_uri(uri)                                     # ("default", "docs/kettle.md")
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, unquote

import anyio.to_thread
import mcp_types as types
from mcp.server import ServerRequestContext
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

from ragwright.errors import RagwrightError, UserError
from ragwright.interfaces.mcp.access import DEFAULT_KB, KB_PATTERN
from ragwright.interfaces.mcp.ratelimit import KeyRateLimiter
from ragwright.interfaces.mcp.schemas import GetDocumentArgs, ListDocumentsArgs
from ragwright.interfaces.mcp.tools import RagTools
from ragwright.service.keys import ApiKey
from ragwright.service.pages import decode_cursor

__all__ = ["RESOURCE_PAGE", "Catalog", "document_uri", "parse_uri"]

RESOURCE_PAGE = 100
"""Documents per ``resources/list`` page."""
MAX_RESOURCE_CHARS = 500_000
_URI = re.compile(r"^ragwright://kb/(?P<kb>[^/]+)/doc/(?P<doc>[^/]+)$")
KeyResolver = Callable[[ServerRequestContext[Any, Any]], Awaitable[ApiKey | None]]


def document_uri(kb: str, doc_id: str) -> str:
    return f"ragwright://kb/{kb}/doc/{quote(doc_id, safe='')}"


def parse_uri(uri: str) -> tuple[str, str]:
    """``(knowledge base, document id)`` of a resource URI; ``MCPError`` (invalid params) for anything else."""
    m = _URI.match(uri)
    if m is None or not re.fullmatch(KB_PATTERN.strip("^$"), m["kb"]):
        raise MCPError(types.INVALID_PARAMS, f"not a ragwright document URI: {uri[:200]!r}")
    return m["kb"], unquote(m["doc"])


class Catalog:
    """The four handlers (and the templates list) for :func:`~ragwright.interfaces.mcp.server.build_server`."""

    def __init__(self, tools: RagTools, resolve_key: KeyResolver, limiter: KeyRateLimiter) -> None:
        self.tools = tools
        self.resolve_key = resolve_key
        self.limiter = limiter

    async def _key(self, ctx: ServerRequestContext[Any, Any]) -> ApiKey:
        from ragwright.interfaces.mcp.server import REVOKED

        key = await self.resolve_key(ctx)
        if key is None:
            raise MCPError(types.INVALID_REQUEST, REVOKED)
        if not key.allows("read"):
            raise MCPError(types.INVALID_REQUEST, "this needs a key with the 'read' scope")
        retry_after = await self.limiter.check(key.key_id)
        if retry_after is not None:
            raise MCPError(types.INVALID_REQUEST, f"rate limit reached for this key; retry in {retry_after:.1f}s")
        return key

    async def _run(self, fn: Callable[[], Any]) -> Any:
        try:
            return await anyio.to_thread.run_sync(fn, abandon_on_cancel=True)
        except UserError as err:  # unknown prompt, missing argument, bad cursor, forbidden or missing document
            raise MCPError(types.INVALID_PARAMS, str(err)) from None
        except ValidationError as err:
            raise MCPError(types.INVALID_PARAMS, f"invalid resource: {err.errors()[0]['msg']}") from None
        except RagwrightError as err:
            raise MCPError(types.INTERNAL_ERROR, f"failed: {type(err).__name__}") from None

    # -- prompts -------------------------------------------------------------------------------------------------

    async def list_prompts(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        key = await self._key(ctx)

        def read() -> list[types.Prompt]:
            reg = self.tools.rw.prompts
            out = []
            for name in reg.names(key.tenant):
                v = reg.resolve(key.tenant, name, sticky=key.key_id)
                out.append(
                    types.Prompt(
                        name=name,
                        description=f"ragwright prompt {name}, version {v.version} ({v.tag})",
                        arguments=[types.PromptArgument(name=a, required=True) for a in v.variables],
                    )
                )
            return out

        prompts: list[types.Prompt] = await self._run(read)
        return types.ListPromptsResult(prompts=prompts)

    async def get_prompt(
        self, ctx: ServerRequestContext[Any, Any], params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        key = await self._key(ctx)

        def render() -> types.GetPromptResult:
            v = self.tools.rw.prompts.resolve(key.tenant, params.name, sticky=key.key_id)
            text = v.render(**(params.arguments or {}))
            content = types.TextContent(type="text", text=text)
            return types.GetPromptResult(
                description=v.tag, messages=[types.PromptMessage(role="user", content=content)]
            )

        result: types.GetPromptResult = await self._run(render)
        return result

    # -- resources -----------------------------------------------------------------------------------------------

    async def list_resources(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        key = await self._key(ctx)
        cursor = params.cursor if params is not None else None

        def page() -> types.ListResourcesResult:
            after = decode_cursor(cursor) if cursor is not None else None
            found = self.tools._document_page(key, ListDocumentsArgs(limit=RESOURCE_PAGE), after)
            resources = [
                types.Resource(
                    uri=document_uri(DEFAULT_KB, d.doc_id),
                    name=d.doc_id,
                    title=d.title or d.doc_id,
                    mime_type="text/plain",
                )
                for d in found.documents
                if key.scope.sees(d.tags)
            ]
            return types.ListResourcesResult(resources=resources, next_cursor=found.next_cursor)

        result: types.ListResourcesResult = await self._run(page)
        return result

    async def list_resource_templates(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        await self._key(ctx)
        template = types.ResourceTemplate(
            uri_template="ragwright://kb/{knowledge_base}/doc/{doc_id}",
            name="document",
            description="A document's text, by knowledge base and percent-encoded document id.",
            mime_type="text/plain",
        )
        return types.ListResourceTemplatesResult(resource_templates=[template])

    async def read_resource(
        self, ctx: ServerRequestContext[Any, Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        key = await self._key(ctx)
        kb, doc_id = parse_uri(params.uri)

        def read() -> types.ReadResourceResult:
            args = GetDocumentArgs(doc_id=doc_id, knowledge_base=kb, max_chars=MAX_RESOURCE_CHARS)
            doc = self.tools._get_document(key, args)  # the get_document tool's tenant and tag checks
            contents = types.TextResourceContents(uri=params.uri, mime_type="text/plain", text=doc["text"])
            return types.ReadResourceResult(contents=[contents])

        result: types.ReadResourceResult = await self._run(read)
        return result
