"""Property: no response ever contains another tenant's text, another knowledge base's, or a forbidden tag's.

Random tenants, documents (each with a unique marker word in its text and file name) and keys (optionally limited to
tags) are written to one index; every key then searches, asks, chats and lists documents, with and without its own
tag filters, and every marker in every response must belong to a document that key may read. Search must also find
exactly the readable documents the filter selects (a request's tags are intersected with the key's).
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragwright.app import Ragwright
from ragwright.interfaces.http.app import create_app
from ragwright.service.kbs import store_tenant
from tests.http.conftest import BACKENDS, backend_store, make_settings, run_server

TAGS = ("red", "blue", "green")
KBS = ("default", "kb2")
MARKER = re.compile(r"zq[0-9a-f]{10}")
_run = itertools.count()


@dataclass(frozen=True)
class Doc:
    tenant: int
    kb: str
    tags: frozenset[str]
    marker: str


@dataclass
class World:
    url: str
    app: object
    writer: Ragwright
    root: Path


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("iso")
    mp = pytest.MonkeyPatch()
    mp.chdir(root)
    for key in [k for k in __import__("os").environ if k.startswith("RAGWRIGHT_")]:
        mp.delenv(key)
    settings = make_settings(root / "index", backend_store(request.param, request), rate_limit_rpm=None)
    app = create_app(settings)
    writer = Ragwright(settings)
    try:
        for url in run_server(app):
            yield World(url, app, writer, root)
    finally:
        writer.close()
        mp.undo()


docs_st = st.lists(
    st.builds(
        Doc,
        tenant=st.integers(0, 2),
        kb=st.sampled_from(KBS),
        tags=st.frozensets(st.sampled_from(TAGS), max_size=2),
        marker=st.just(""),
    ),
    min_size=1,
    max_size=8,
)
keys_st = st.lists(
    st.tuples(st.integers(0, 2), st.frozensets(st.sampled_from(TAGS), max_size=2)), min_size=1, max_size=4
)
filter_st = st.one_of(st.none(), st.lists(st.sampled_from(TAGS), min_size=1, max_size=3, unique=True))


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(docs=docs_st, keys=keys_st, user_tags=filter_st)
def test_no_response_leaks_across_tenants_kbs_or_tags(
    world: World, docs: list[Doc], keys: list[tuple[int, frozenset[str]]], user_tags: list[str] | None
) -> None:
    service = world.app.state.service  # type: ignore[attr-defined]
    check_isolation(
        [world.url],
        world.writer,
        lambda tenant, tags: str(service.keys.create(tenant, tags=tags)[0]),
        world.root,
        docs,
        keys,
        user_tags,
        refresh=service.pool.refresh,
    )


def check_isolation(
    urls: Sequence[str],
    writer: Ragwright,
    make_key: Callable[[str, frozenset[str]], str],
    root: Path,
    docs: list[Doc],
    keys: list[tuple[int, frozenset[str]]],
    user_tags: list[str] | None,
    refresh: Callable[[], None] = lambda: None,
) -> None:
    """The property: ``docs`` written with ``writer``, every key of ``keys`` asks every server in ``urls``, and no
    response holds a marker the key may not read (also used across three ``serve`` replicas on PostgreSQL,
    tests/http/test_three_serve_processes.py)."""
    run = next(_run)
    tenants = [f"t{run}x{i}" for i in range(3)]
    docs = [Doc(d.tenant, d.kb, d.tags, "zq" + uuid.uuid4().hex[:10]) for d in docs]
    folder = root / f"run{run}"
    for d in docs:
        path = folder / f"{d.marker}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# Policy {d.marker}\n\nThe travel policy {d.marker} sets the expense limit for trips.\n")
        report = writer.ingest([path], tenant=store_tenant(tenants[d.tenant], d.kb), tags=tuple(sorted(d.tags)))
        assert report.count("added") == 1
    refresh()

    for tenant_i, key_tags in keys:
        raw = make_key(tenants[tenant_i], key_tags)
        for url in urls:
            _check_key(url, raw, docs, tenant_i, key_tags, user_tags)


def _check_key(
    url: str, raw: str, docs: list[Doc], tenant_i: int, key_tags: frozenset[str], user_tags: list[str] | None
) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {raw}"}, timeout=30) as c:
        for kb in KBS:
            allowed = {
                d.marker for d in docs if d.tenant == tenant_i and d.kb == kb and (not key_tags or d.tags & key_tags)
            }
            filt = {"tags": user_tags} if user_tags else None
            # the request's tags are intersected with the key's: they choose among the key's tags
            wanted = set(user_tags or ()) & key_tags if key_tags else set(user_tags or ())
            narrowed = {d.marker for d in docs if d.marker in allowed and (not user_tags or d.tags & wanted)}
            responses = [
                c.post(
                    "/v1/search",
                    json={"query": "travel policy expense limit", "k": 50, "knowledge_base": kb, "filters": filt},
                ),
                c.post(
                    "/v1/answer",
                    json={"question": "What does the travel policy set?", "knowledge_base": kb, "filters": filt},
                ),
                c.post(
                    "/v1/chat/completions",
                    json={
                        "model": f"rag:{kb}",
                        "messages": [{"role": "user", "content": "What does the travel policy set?"}],
                    },
                ),
                c.get("/v1/documents", params={"knowledge_base": kb}),
            ]
            exists = kb == "default" or any(d.tenant == tenant_i and d.kb == kb for d in docs)
            for r in responses:
                if not exists and r.request.url.path == "/v1/chat/completions":  # rag:<unknown kb> is 404
                    assert r.status_code == 404 and r.json()["error"]["type"] == "model_not_found", r.text
                    continue
                assert r.status_code == 200, r.text
                leaked = set(MARKER.findall(r.text)) - allowed
                assert not leaked, (r.request.url, leaked)
            search, _, _, listing = (r.json() for r in responses)
            found = {MARKER.search(h["text"]).group(0) for h in search["hits"]}  # type: ignore[union-attr]
            assert found == narrowed  # every readable match is found, and the user filter only narrows
            listed = {MARKER.search(d["id"]).group(0) for d in listing["data"]}  # type: ignore[union-attr]
            assert listed == allowed
