"""A small corpus in two tenants with tagged documents, and keys for it, shared by the MCP tests."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.observability import tracing
from ragwright.service.keys import KeyStore
from tests.conftest import write

PUBLIC = "The kettle has a warranty of 3 years. Descale the kettle monthly with citric acid."
INTERNAL = "Internal memo: the kettle warranty costs us 42 percent margin; the zebra supplier is late."
OTHER_TENANT = "Other tenant notes: the kettle warranty of the walrus brand is 9 years."


@dataclass
class Env:
    root: Path
    data_dir: Path
    keys: dict[str, str]
    """name -> raw key: read, write, public (read, tag public), other (tenant other)."""


def build_env(root: Path) -> Env:
    data_dir = root / "index"
    write(root / "docs/public/kettle.md", f"# Kettle\n\n## Warranty\n\n{PUBLIC}\n")
    write(root / "docs/internal/memo.md", f"# Memo\n\n## Margins\n\n{INTERNAL}\n")
    write(root / "other/walrus.md", f"# Walrus\n\n## Warranty\n\n{OTHER_TENANT}\n")
    settings = load_settings(data_dir=data_dir, embedding={"model": "fake"})
    rw = Ragwright(settings)
    try:
        rw.ingest([root / "docs/public"], tenant="acme", tags=("public",))
        rw.ingest([root / "docs/internal"], tenant="acme", tags=("internal",))
        rw.ingest([root / "other"], tenant="other")
    finally:
        rw.close()
    with KeyStore(data_dir / "keys.sqlite") as store:
        keys = {
            "read": store.create("acme", scopes=("read",))[0],
            "write": store.create("acme", scopes=("read", "write"))[0],
            "public": store.create("acme", scopes=("read", "write"), tags=("public",))[0],
            "other": store.create("other", scopes=("read",))[0],
        }
    return Env(root=root, data_dir=data_dir, keys=keys)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: pytest.MonkeyPatch) -> Env:
    return build_env(tmp_path_factory.mktemp("mcp"))


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    mp = pytest.MonkeyPatch()
    for key in list(__import__("os").environ):
        if key.startswith("RAGWRIGHT_"):
            mp.delenv(key)
    yield mp
    mp.undo()


def texts(result: Any) -> str:
    """All text content of a tool result."""
    return "\n".join(c.text for c in result.content if hasattr(c, "text"))


def tag_limited_calls() -> list[tuple[str, dict[str, Any]]]:
    """Calls that would surface the internal memo to a key that may read it."""
    return [
        ("search", {"query": "kettle warranty margin percent zebra", "k": 10}),
        ("search", {"query": "margin", "tags": ["internal"]}),
        ("answer", {"question": "What margin does the kettle warranty cost?"}),
        ("get_document", {"doc_id": "docs/internal/memo.md"}),
        ("list_documents", {}),
    ]


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Every span finished while the test runs, in memory (the process's tracer provider for the test)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    try:
        yield exporter
    finally:
        tracing.shutdown()


@asynccontextmanager
async def stdio_client(env: Env, *args: str, **extra_env: str) -> AsyncIterator[Client]:
    """The official MCP client over stdio to a ``ragwright mcp`` subprocess on ``env`` (fake embedder)."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}
    child_env.update({"RAGWRIGHT_EMBEDDING__MODEL": "fake", **extra_env})
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "ragwright", "mcp", "--data-dir", str(env.data_dir), *args],
        env=child_env,
        cwd=str(env.root),
    )
    async with Client(params, read_timeout_seconds=30) as client:
        yield client
