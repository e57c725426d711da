"""The agent ``fetch`` tool against a real loopback HTTP server: off by default, allow-list (redirects included),
size and time limits, text only."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ragwright.agents import AgentRunner, RunStore, Toolbox, ToolContext
from ragwright.agents.fetch_tool import allowed, fetch_tool
from ragwright.config import FetchSettings, load_settings
from ragwright.errors import FetchRefused
from ragwright.gateway.types import ToolCall
from ragwright.interfaces.mcp.access import local_key
from ragwright.testing import FakeChatModel
from ragwright.testing.fake_chat import Reply

CTX = ToolContext(local_key("acme"))
RELEASE = threading.Event()
HTML = b"<html><head><title>Kettle</title></head><body><main><h1>Care</h1><p>Descale monthly.</p></main></body></html>"


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        port = self.server.server_address[1]
        if self.path == "/docs/page.html":
            self._send(200, HTML, "text/html; charset=utf-8")
        elif self.path == "/docs/big.txt":
            self._send(200, b"x" * 50_000, "text/plain")
        elif self.path == "/docs/image.png":
            self._send(200, b"\x89PNG....", "image/png")
        elif self.path == "/docs/in":
            self._send(302, b"", "text/plain", location="/docs/page.html")
        elif self.path == "/docs/out":
            self._send(302, b"", "text/plain", location=f"http://127.0.0.1:{port}/private/secret")
        elif self.path == "/docs/slow":
            RELEASE.wait(30)  # held until the test ends: the tool's own time limit must end the fetch
            with contextlib.suppress(OSError):  # the client is long gone
                self._send(200, b"late", "text/plain")
        else:
            self._send(404, b"no", "text/plain")


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    RELEASE.set()
    server.shutdown()


def tool(base: str, **kw: object) -> object:
    settings = FetchSettings(enabled=True, allow=[f"{base}/docs/"], **kw)  # type: ignore[arg-type]
    made = fetch_tool(settings)
    assert made is not None
    return made


def test_off_by_default_and_without_an_allow_list() -> None:
    assert load_settings().agent.fetch.enabled is False
    assert fetch_tool(FetchSettings()) is None and fetch_tool(FetchSettings(enabled=True)) is None


def test_the_allow_list() -> None:
    allow = ["docs.example.com", "*.example.org", "http://127.0.0.1:8080/api/"]
    assert allowed("https://docs.example.com/a", allow) and not allowed("http://docs.example.com/a", allow)
    assert allowed("https://x.example.org/", allow) and not allowed("https://example.org.evil.com/", allow)
    assert allowed("http://127.0.0.1:8080/api/v1", allow) and not allowed("http://127.0.0.1:8080/admin", allow)
    assert not allowed("http://127.0.0.1:8081/api/v1", allow) and not allowed("file:///etc/passwd", allow)
    assert not allowed("https://user:pw@docs.example.com/", allow)


async def test_fetch_returns_the_page_text_and_follows_allowed_redirects(base: str) -> None:
    t = tool(base)
    page = await t.run(CTX, {"url": f"{base}/docs/page.html"})  # type: ignore[attr-defined]
    assert page["status"] == 200 and page["title"] == "Kettle" and "Descale monthly." in page["text"]
    assert "<p>" not in page["text"] and not page["truncated"]
    moved = await t.run(CTX, {"url": f"{base}/docs/in"})  # type: ignore[attr-defined]
    assert moved["url"].endswith("/docs/page.html") and "Descale" in moved["text"]


async def test_refusals_and_limits(base: str) -> None:
    t = tool(base, max_bytes=1_000, timeout=60)  # the answered fetches must not race a short deadline under load
    with pytest.raises(FetchRefused, match="not on the fetch allow-list"):
        await t.run(CTX, {"url": f"{base}/private/secret"})  # type: ignore[attr-defined]
    with pytest.raises(FetchRefused, match="not on the fetch allow-list"):
        await t.run(CTX, {"url": f"{base}/docs/out"})  # type: ignore[attr-defined]  # a redirect out is refused
    with pytest.raises(FetchRefused, match="image/png, not text"):
        await t.run(CTX, {"url": f"{base}/docs/image.png"})  # type: ignore[attr-defined]
    big = await t.run(CTX, {"url": f"{base}/docs/big.txt"})  # type: ignore[attr-defined]
    assert len(big["text"]) == 1_000 and big["truncated"]
    with pytest.raises(FetchRefused, match="took longer than 0.5 s"):
        await tool(base, timeout=0.5).run(CTX, {"url": f"{base}/docs/slow"})  # type: ignore[attr-defined]


async def test_in_a_run_a_refusal_is_the_models_observation(base: str, tmp_path: Path) -> None:
    t = tool(base)
    script = [
        Reply(tool_calls=(ToolCall("f1", "fetch", json.dumps({"url": f"{base}/private/secret"})),)),
        Reply(tool_calls=(ToolCall("f2", "fetch", json.dumps({"url": f"{base}/docs/page.html"})),)),
        "Descale monthly.",
    ]
    runner = AgentRunner(FakeChatModel(script), Toolbox.of([t]), RunStore(tmp_path / "a.sqlite"))  # type: ignore[list-item]
    run = runner.new_run("How often to descale?", CTX, model="fake:agent")
    events = [e async for e in runner.drive(run)]
    results = [e.data for e in events if e.kind == "tool_result"]
    assert results[0]["status"] == "failed" and "not on the fetch allow-list" in results[0]["output"]
    assert results[1]["status"] == "done" and run.cited_answer == "Descale monthly. [1]"
