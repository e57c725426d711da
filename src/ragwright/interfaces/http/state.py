"""What one running service holds: settings, the library front door, keys, knowledge bases, jobs, limits, the gateway.

The :class:`Ragwright` instance is shared by all request threads for reads. After an ingest job (which ran in the
worker process) the service opens a fresh instance so it sees tenants the worker created, and retires the old one
once no request is using it (:class:`RagwrightPool`). The gateway is not part of that: the service holds one per
process, shared by ``/v1/answer``, ``rag:`` chat and chat completions for gateway models, and every instance the pool
opens uses it, so budgets, breakers, rate limits and the loaded local model survive a refresh.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ragwright.agents.service import runs_path
from ragwright.agents.store import RunStore
from ragwright.app import Ragwright
from ragwright.config import Settings
from ragwright.errors import RagwrightError, UnknownModel
from ragwright.evals.run_store import EvalRunStore
from ragwright.gateway.base import ChatModel, ModelSource
from ragwright.gateway.build import Gateway, SyncGateway
from ragwright.interfaces.http.eval_ops import EvalLauncher
from ragwright.interfaces.http.job_api import open_jobs
from ragwright.interfaces.http.job_store import Job, open_job_store
from ragwright.interfaces.http.limits import KeyRateLimiter
from ragwright.interfaces.http.metrics import Metrics
from ragwright.models.base import Embedder
from ragwright.observability.trace_store import SQLiteTraceStore, open_trace_store
from ragwright.private_files import private_dir
from ragwright.redact import quote_id
from ragwright.service.ended_sessions import open_ended_sessions
from ragwright.service.feedback import open_feedback
from ragwright.service.kbs import DEFAULT_KB, open_knowledge_bases, store_tenant
from ragwright.service.keys import VERIFIED_KEY_SECONDS, ApiKey, KeyStore, open_key_store
from ragwright.sharedstate.client import SharedRedis, limit_storage
from ragwright.sharedstate.revocation import KeyVersions

WARM_TENANTS = 32
"""At start-up, the most knowledge bases whose search structures are loaded before the first request."""

log = logging.getLogger(__name__)


class RagwrightPool:
    """The current :class:`Ragwright`, swapped for a fresh one by :meth:`refresh`, closed when no longer used.

    Example::

        with pool.use() as rw:
            rw.search("rotate keys", tenant="acme")
    """

    def __init__(self, settings: Settings, embedder: Embedder | None = None, *, gateway: SyncGateway) -> None:
        self.settings = settings
        self._embedder = embedder
        self._gateway = gateway
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._current = Ragwright(settings, embedder=embedder, gateway=gateway)
        self._users: dict[int, int] = {}
        self._retired: dict[int, Ragwright] = {}

    @contextmanager
    def use(self) -> Iterator[Ragwright]:
        with self._lock:
            rw = self._current
            self._users[id(rw)] = self._users.get(id(rw), 0) + 1
        try:
            yield rw
        finally:
            with self._lock:
                self._users[id(rw)] -= 1
                done = self._users[id(rw)] == 0 and id(rw) in self._retired
                if self._users[id(rw)] == 0:
                    del self._users[id(rw)]
                if done:
                    del self._retired[id(rw)]
            if done:
                rw.close()

    @contextmanager
    def write(self) -> Iterator[Ragwright]:
        """Like :meth:`use`, for the few writes the server makes itself (deletes), one at a time."""
        with self._write_lock, self.use() as rw:
            yield rw

    def refresh(self) -> None:
        with self._lock:
            old = self._current
        fresh = Ragwright(self.settings, embedder=self._embedder or old.embedder, gateway=self._gateway)
        with self._lock:
            self._current = fresh
            if self._users.get(id(old), 0) > 0:
                self._retired[id(old)] = old
                old = None  # type: ignore[assignment]
        if old is not None:
            old.close()

    def close(self) -> None:
        with self._lock:
            current, self._current = self._current, self._current
            retired = list(self._retired.values())
            self._retired.clear()
        for rw in [current, *retired]:
            rw.close()


class ServiceState:
    """Everything the routes share. Built by :func:`ragwright.interfaces.http.app.create_app`.

    Example::

        state = ServiceState(settings)
        raw, key = state.keys.create("acme")
        with state.pool.use() as rw:
            rw.search("rotate keys", tenant=key.tenant)
        await state.aclose()
    """

    def __init__(
        self,
        settings: Settings,
        *,
        gateway: ModelSource | None = None,
        embedder: Embedder | None = None,
        keys: KeyStore | None = None,
    ) -> None:
        settings = settings.model_copy(update={"data_dir": settings.data_dir.resolve()})
        self.settings = settings
        self.service = settings.service
        private_dir(settings.data_dir)  # 0700 when ragwright creates it: document text, key hashes, jobs
        self.uploads_dir = settings.data_dir / "uploads"
        self.keys = keys or open_key_store(settings, cache_seconds=VERIFIED_KEY_SECONDS)
        self.kbs = open_knowledge_bases(settings)
        self.feedback = open_feedback(settings)
        self.gateway = SyncGateway(gateway if gateway is not None else Gateway(settings, embedder=embedder))
        self.pool = RagwrightPool(settings, embedder, gateway=self.gateway)
        self.job_store = open_job_store(settings)
        self.agent_runs = RunStore(runs_path(settings))  # SQLite beside the index for now, also with PostgreSQL
        self.jobs = open_jobs(settings, store=self.job_store, on_done=self._job_done)  # the queue, or a subprocess
        self.evals = EvalRunStore(settings.data_dir / "evals")  # files beside the index (interfaces/http/eval_ops)
        self.eval_launcher = EvalLauncher(settings, self.evals, gateway=self.gateway, embedder=embedder)
        # with a [redis] url: per-key limits and revocations shared by every replica (docs/scale-out.md)
        self.redis = SharedRedis.from_settings(settings.redis)
        self.key_versions = KeyVersions(self.redis) if self.redis is not None else None
        self.ended_sessions = open_ended_sessions(settings, self.redis)  # web UI logouts, seen by every process
        storage = limit_storage(
            self.service.rate_limit_storage,
            explicit="rate_limit_storage" in self.service.model_fields_set,
            redis=self.redis,
            what="service.rate_limit_storage",
        )
        self.limiter = KeyRateLimiter(
            self.service.rate_limit_rpm, storage, data_dir=settings.data_dir, redis=self.redis
        )
        self.metrics = Metrics()
        self._traces: SQLiteTraceStore | None = None
        self._models_lock = threading.Lock()
        self._index_seen = False
        self.jobs.recover()  # jobs of a server process that died: queued ones run, running ones are reconciled
        self.agent_runs.recover()  # agent runs of a process that died: paused, calls in flight handed to a human

    async def verify_key(self, raw_key: str) -> ApiKey | None:
        """The key behind ``raw_key`` (None: unknown or revoked). With Redis, a revocation announced anywhere is
        honoured here at once, not after the verified-key window (:mod:`ragwright.sharedstate.revocation`)."""
        if self.key_versions is not None:
            await self.key_versions.refresh(self.keys)
        return self.keys.verify(raw_key)

    def chat_model(self, name: str) -> ChatModel:
        """The gateway model behind an OpenAI model name: only names ``GET /v1/models`` lists (an arbitrary
        ``provider:model`` would build and keep new state per name, and spend where nobody configured it)."""
        with self._models_lock:
            if name not in self.gateway.gateway.models():
                raise UnknownModel(
                    f"unknown model {quote_id(name)}: GET /v1/models lists rag:<knowledge-base> and the gateway's "
                    "models",
                    name=name,
                )
            return self.gateway.gateway.model(name)

    def gateway_models(self) -> list[str]:
        """Model names the gateway serves (for ``GET /v1/models``)."""
        return self.gateway.gateway.models()

    @contextmanager
    def reader(self) -> Iterator[Ragwright]:
        """The current :class:`Ragwright` for a read. Knowledge bases another process creates (the MCP server, another
        server process, ``ragwright ingest --tenant``) are found by the store itself, with no reopening."""
        with self.pool.use() as rw:
            yield rw

    def index_exists(self) -> bool:
        """Whether the index exists: always with a PostgreSQL store (its schema is made on open), else whether the
        index file exists; remembered once it does (the store keeps it from then on), which spares searches a
        ``stat`` on the event loop."""
        if not self._index_seen:
            self._index_seen = self.settings.uses_postgres or self.settings.index_path.exists()
        return self._index_seen

    def warm_up(self, tenants: Iterable[str] | None = None) -> list[str]:
        """Load now what the first search would otherwise load on the request path: the query encoder (the int8 one
        is derived or read from its cache) and, per knowledge base, the BM25 postings and the vectors. ``tenants``
        are store tenants; by default the knowledge bases that active keys reach (at most :data:`WARM_TENANTS`).
        Returns the store tenants warmed. Failures are logged, never raised: a cold start is slower, not broken."""
        warmed: list[str] = []
        if not self.index_exists():
            return warmed
        try:
            with self.pool.use() as rw:
                if self.settings.retrieval.mode != "bm25":
                    prepare = getattr(rw.embedder, "prepare", None)
                    if prepare is not None:
                        prepare()
                for tenant in self._reachable() if tenants is None else tenants:
                    if rw.store.stats(tenant).chunks:
                        rw.search("warm up", tenant=tenant, k=1)
                        warmed.append(tenant)
        except RagwrightError as exc:
            log.warning("warm-up stopped: %s", exc)
        return warmed

    def _reachable(self) -> list[str]:
        tenants = sorted({key.tenant for key in self.keys.list() if not key.revoked})
        out = [store_tenant(t, kb) for t in tenants for kb in dict.fromkeys([DEFAULT_KB, *self.kbs.list(t)])]
        return out[:WARM_TENANTS]

    def _job_done(self, job: Job) -> None:
        self.metrics.jobs.labels(job.status).inc()
        self.metrics.jobs_pending.set(self.jobs.pending())
        # the runner removed the upload and the worker listed the knowledge base before writing to it
        if job.status == "succeeded":
            self.pool.refresh()
            self.warm_up([store_tenant(job.tenant, job.kb)])  # the fresh store loads its caches here, not per request

    def trace_store(self) -> SQLiteTraceStore | None:
        """The local trace store for ``/v1/traces`` (None until there is one: tracing may never have been on)."""
        with self._models_lock:
            if self._traces is None and self.settings.trace_store_path.exists():
                self._traces = open_trace_store(self.settings)
            return self._traces

    def job_dir(self, job_id: str) -> Path:
        return self.uploads_dir / job_id

    async def aclose(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
        await self.limiter.aclose()
        self.jobs.close()
        await asyncio.to_thread(self.eval_launcher.close)
        self.pool.close()
        await asyncio.to_thread(self.gateway.close)
        self.job_store.close()
        if self._traces is not None:
            self._traces.close()
        self.agent_runs.close()
        self.kbs.close()
        self.feedback.close()
        self.ended_sessions.close()
        self.keys.close()
