"""The ``fetch`` tool: an HTTP GET of one web page, off by default and limited to an allow-list.

Only when ``[agent.fetch] enabled = true``, and only URLs that ``allow`` names (:func:`allowed`): a host
(``docs.example.com``: HTTPS only), its subdomains (``*.example.com``), or a URL prefix with its scheme
(``https://api.example.com/v1/``; ``http://`` prefixes are how a private service is named). Redirects are followed by
hand, each target checked against the same list, at most ``max_redirects``. The body is read up to ``max_bytes``
(the rest is not downloaded), the whole fetch is bounded by ``timeout``, no cookies or credentials are sent, and only
text answers are returned: HTML as its visible text (the ingest HTML loader, pure Python), other ``text/*``, JSON
and XML as they are. The output is data like every tool's (fenced for the model; it cannot change the run's tools).

Example::

    tool = fetch_tool(FetchSettings(enabled=True, allow=["docs.python.org"]))
    await tool.run(ctx, {"url": "https://docs.python.org/3/library/json.html"})
    # {"url": ..., "status": 200, "content_type": "text/html", "title": "json — ...", "text": "...", "truncated": False}
"""

from __future__ import annotations

import asyncio
import fnmatch
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from ragwright.agents.tools import AgentTool, ToolContext, agent_tool
from ragwright.config import FetchSettings
from ragwright.documents.html import load_html
from ragwright.errors import FetchRefused

__all__ = ["allowed", "fetch_tool"]

_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/xhtml+xml")
DESCRIPTION = "Fetch one web page by URL (only the sites the operator allowed); returns its text."


def allowed(url: str, allow: list[str]) -> bool:
    """Whether ``url`` is reachable under ``allow`` (see the module docstring)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return False
    host = parts.hostname.lower()
    for entry in allow:
        entry = entry.strip()
        if "://" in entry:
            prefix = urlsplit(entry)
            same_origin = (parts.scheme, host, parts.port) == (prefix.scheme, (prefix.hostname or ""), prefix.port)
            if same_origin and (parts.path or "/").startswith(prefix.path or "/"):
                return True
        elif parts.scheme == "https" and (
            host == entry.lower() or (entry.startswith("*.") and fnmatch.fnmatch(host, entry.lower()))
        ):
            return True
    return False


async def _get(client: httpx.AsyncClient, url: str, settings: FetchSettings) -> dict[str, Any]:
    for _ in range(settings.max_redirects + 1):
        if not allowed(url, settings.allow):
            raise FetchRefused(f"{url} is not on the fetch allow-list")
        async with client.stream("GET", url) as response:
            if response.is_redirect and "location" in response.headers:
                url = urljoin(url, response.headers["location"])
                continue
            content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type and not content_type.startswith(_TEXT_TYPES):
                raise FetchRefused(f"{url} is {content_type}, not text")
            body = bytearray()
            truncated = False
            async for part in response.aiter_bytes():
                body += part
                if len(body) >= settings.max_bytes:  # the rest is never downloaded
                    truncated = True
                    del body[settings.max_bytes :]
                    break
            data = bytes(body)
            title = ""
            if content_type in ("text/html", "application/xhtml+xml") or (
                not content_type and b"<html" in data[:512].lower()
            ):
                page = load_html(data, url)
                text, title = page.text, page.title or ""
            else:
                text = data.decode(response.encoding or "utf-8", errors="replace")
            return {
                "url": url,
                "status": response.status_code,
                "content_type": content_type,
                "title": title,
                "text": text,
                "truncated": truncated,
            }
    raise FetchRefused(f"more than {settings.max_redirects} redirects")


def fetch_tool(settings: FetchSettings, *, transport: httpx.AsyncBaseTransport | None = None) -> AgentTool | None:
    """The tool, or None when fetching is off (or nothing is allowed)."""
    if not settings.enabled or not settings.allow:
        return None

    @agent_tool(name="fetch", description=DESCRIPTION)
    async def fetch(ctx: ToolContext, url: str) -> dict[str, Any]:
        limits = httpx.Timeout(settings.timeout)
        async with httpx.AsyncClient(
            follow_redirects=False,
            timeout=limits,
            transport=transport,
            trust_env=False,
            headers={"user-agent": "ragwright-agent"},
        ) as client:
            try:
                return await asyncio.wait_for(_get(client, url, settings), timeout=settings.timeout)
            except TimeoutError:
                raise FetchRefused(f"{url} took longer than {settings.timeout:g} s") from None

    return fetch
