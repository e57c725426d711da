"""Start-up warm-up: the query encoder and the search structures of the knowledge bases keys reach are loaded before
the first request, and again after an upload job refreshes the index."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ragwright.app import Ragwright
from ragwright.interfaces.http.app import create_app
from ragwright.interfaces.http.state import ServiceState
from ragwright.testing.fakes import FakeEmbedder
from tests.http.conftest import clean_env, make_settings, run_server


class CountingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.prepared = 0

    def prepare(self) -> None:
        self.prepared += 1


def _ingest(data_dir: Path, tenant: str, text: str) -> None:
    docs = data_dir.parent / f"docs-{tenant}"
    docs.mkdir()
    (docs / "note.md").write_text(f"# Note\n\n{text}\n", encoding="utf-8")
    rw = Ragwright(make_settings(data_dir), embedder=FakeEmbedder())
    try:
        rw.ingest([docs], tenant=tenant)
    finally:
        rw.close()


def _loaded(state: ServiceState) -> set[str]:
    """Tenants whose keyword postings and vectors the current store holds in memory."""
    with state.pool.use() as rw:
        store = rw.store
        dense = set(store._dense._entries)  # type: ignore[attr-defined]
        keyword = set(store._keywords._entries)  # type: ignore[attr-defined]
    return dense & keyword


def test_warm_up_loads_what_keys_reach(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clean_env(monkeypatch)
    data_dir = tmp_path / "index"
    for tenant in ("acme", "globex", "orphan"):
        _ingest(data_dir, tenant, f"The {tenant} kettle descales with citric acid.")
    embedder = CountingEmbedder()
    state = ServiceState(make_settings(data_dir), embedder=embedder)
    try:
        state.keys.create("acme")
        _, revoked = state.keys.create("globex")
        state.keys.revoke(revoked.key_id)
        assert _loaded(state) == set()
        assert state.warm_up() == ["acme"]  # no key reaches "orphan"; globex's only key is revoked
        assert embedder.prepared == 1
        assert _loaded(state) == {"acme"}
        assert state.warm_up(["orphan", "nobody"]) == ["orphan"]  # a tenant with no chunks is skipped, not an error
    finally:
        asyncio.run(state.aclose())


def test_a_fresh_service_warms_up_at_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clean_env(monkeypatch)
    data_dir = tmp_path / "index"
    _ingest(data_dir, "acme", "The acme kettle descales with citric acid.")
    settings = make_settings(data_dir)
    state_keys = ServiceState(settings)
    state_keys.keys.create("acme")
    asyncio.run(state_keys.aclose())
    embedder = CountingEmbedder()
    app = create_app(settings, embedder=embedder)
    for _url in run_server(app):
        assert embedder.prepared == 1
        assert _loaded(app.state.service) == {"acme"}


def test_warm_up_without_an_index_does_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clean_env(monkeypatch)
    embedder = CountingEmbedder()
    state = ServiceState(make_settings(tmp_path / "empty"), embedder=embedder)
    try:
        state.keys.create("acme")
        assert state.warm_up() == []
        assert embedder.prepared == 0
        assert not (tmp_path / "empty" / "index.sqlite").exists()  # warming up must not create an index
    finally:
        asyncio.run(state.aclose())
