"""The library's front door: one object that builds the store, models, retriever and answerer from `Settings`.

The CLI, the HTTP service and the MCP server are thin layers over this; they hold no logic of their own.

Example::

    rw = Ragwright(load_settings())
    rw.ingest([Path("docs")])
    print(rw.ask("How do I rotate the API key?").text)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path

from ragwright.answering.alignment import Aligner
from ragwright.answering.conversation import Turn
from ragwright.answering.corpus_calibration import CalibrationCache
from ragwright.answering.service import Asker, GeneratorName
from ragwright.answering.types import Answer
from ragwright.config import Settings
from ragwright.errors import ConfigError, NotIndexedError
from ragwright.gateway.base import ChatModel
from ragwright.gateway.build import Gateway, SyncGateway
from ragwright.gateway.pricing import PriceTable
from ragwright.gateway.types import RequestContext
from ragwright.ingest.pipeline import Ingestor, IngestReport, ProgressCallback
from ragwright.models.base import Embedder, Reranker, TextGenerator, TokenEmbedder
from ragwright.models.registry import embedder_from_settings, make_generator, reranker_from_settings
from ragwright.observability.tracing import configure as configure_tracing
from ragwright.prompts.registry import PromptRegistry, PromptSource
from ragwright.retrieval.retriever import Mode, Retriever, SearchResult
from ragwright.store.base import Filters, Store
from ragwright.store.sqlite import SQLiteStore


class Ragwright:
    """The library's front door: ingest, search and ask over one index, built from ``Settings``.

    Store, embedder, retriever, answerer and gateway are built on first use.

    ``gateway`` shares a gateway the caller owns (the HTTP service passes its one gateway to every instance its pool
    opens, so budgets, breakers and the loaded local model outlive a pool refresh); without it, this instance builds
    its own on first use and closes it in :meth:`close`.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        store: Store | None = None,
        generator: TextGenerator | None = None,
        gateway: SyncGateway | None = None,
    ) -> None:
        self.settings = settings
        self._embedder = embedder
        self._store = store
        self._generator = generator
        self._gateway = gateway
        self._owns_gateway = gateway is None
        self._prompts: PromptRegistry | None = None
        self._aligner: Aligner | None = None
        self._calibrations = CalibrationCache()
        self.prompt_pins: dict[str, int | str] = {}
        """Prompt versions (or labels) to serve instead of ``production``, by name: eval runs compare versions so."""
        configure_tracing(settings)  # process-wide, once per distinct [observability]; nothing when it is off

    # -- parts, built on first use ------------------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = embedder_from_settings(self.settings.embedding, self.settings.gateway)
        return self._embedder

    @property
    def store(self) -> Store:
        if self._store is None:
            r = self.settings.retrieval
            if self.settings.uses_postgres:
                try:
                    from ragwright.store.postgres import PostgresStore
                except ImportError as exc:
                    raise ConfigError(
                        "store = postgresql://... needs the 'postgres' extra: pip install 'ragwright[postgres]'"
                    ) from exc
                self._store = PostgresStore(
                    self.settings.store_dsn(),
                    bm25_k1=r.bm25_k1,
                    bm25_b=r.bm25_b,
                    context_weight=r.context_weight,
                    settings=self.settings.postgres,
                )
            else:
                self._store = SQLiteStore(
                    self.settings.index_path, bm25_k1=r.bm25_k1, bm25_b=r.bm25_b, context_weight=r.context_weight
                )
        return self._store

    def open_existing_store(self) -> Store:
        """The store for read commands: a clear error instead of an empty new index when nothing was ingested."""
        if self._store is None and not self.settings.uses_postgres and not self.settings.index_path.exists():
            raise NotIndexedError(f"no index at {self.settings.index_path}: run `ragwright ingest PATH` first")
        return self.store

    @property
    def prompts(self) -> PromptRegistry:
        """The prompt registry, in the index's database (the SQLite index file, or the PostgreSQL store's)."""
        if self._prompts is None:
            if self.settings.uses_postgres:
                from ragwright.prompts.postgres import PostgresPromptStore

                self._prompts = PromptRegistry(PostgresPromptStore(self.settings.store_dsn()))
            else:
                from ragwright.prompts.store import SQLitePromptStore

                self._prompts = PromptRegistry(SQLitePromptStore(self.settings.index_path))
        return self._prompts

    @property
    def prompt_source(self) -> PromptSource:
        """What the answerer renders from: the registry, with :attr:`prompt_pins` applied."""
        return self.prompts.pinned(self.prompt_pins) if self.prompt_pins else self.prompts

    @cached_property
    def reranker(self) -> Reranker | None:
        return reranker_from_settings(self.settings.retrieval, self.settings.gateway)

    @property
    def generator(self) -> TextGenerator:
        if self._generator is None:
            self._generator = make_generator("local")
        return self._generator

    @property
    def gateway(self) -> SyncGateway:
        """Every model call goes through this: the configured chain, with its policies, on its own loop thread."""
        if self._gateway is None:
            prices = PriceTable.load(self.settings.gateway.prices_file)
            gateway = Gateway(self.settings, prices=prices, provider_factory=self._provider(prices))
            self._gateway = SyncGateway(gateway)
        return self._gateway

    def _provider(self, prices: PriceTable) -> Callable[[str], ChatModel]:
        """Providers from the registry, except that ``local:*`` uses this app's (possibly injected) generator."""

        def make(spec: str) -> ChatModel:
            if spec.partition(":")[0] == "local" and spec.partition(":")[2] in ("", "smollm2"):
                from ragwright.gateway.providers.local import LocalChatModel

                return LocalChatModel("smollm2", generator=self._generator, factory=lambda: self.generator)
            from ragwright.gateway.registry import make_chat_model

            return make_chat_model(spec, self.settings.gateway, prices=prices)

        return make

    @cached_property
    def retriever(self) -> Retriever:
        store = self.open_existing_store()
        embedder = self.embedder if self.settings.retrieval.mode != "bm25" else None
        if embedder is not None and store.embedding_model not in (None, embedder.name):
            raise NotIndexedError(
                f"the index was built with {store.embedding_model}, but the configured embedder is {embedder.name}"
            )
        return Retriever(store, embedder, self.settings.retrieval, self.reranker)

    # -- operations ----------------------------------------------------------------------------------------------

    def ingest(
        self,
        roots: Sequence[Path],
        *,
        tenant: str | None = None,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        prune: bool = False,
        progress: ProgressCallback | None = None,
        tags: tuple[str, ...] = (),
    ) -> IngestReport:
        ingestor = Ingestor(self.store, self.embedder, self.settings, progress)
        return ingestor.ingest(
            roots, tenant=tenant or self.settings.tenant, include=include, exclude=exclude, prune=prune, tags=tags
        )

    def search(
        self,
        query: str,
        *,
        tenant: str | None = None,
        k: int | None = None,
        mode: Mode | None = None,
        filters: Filters | None = None,
    ) -> SearchResult:
        if mode and mode != "bm25" and self.settings.retrieval.mode == "bm25":
            self.retriever.embedder = self.embedder
        return self.retriever.search(tenant or self.settings.tenant, query, k=k, mode=mode, filters=filters)

    def asker(self, generator: GeneratorName | None = None) -> Asker:
        """The answerer for ``generator`` (default: the configured one), on this app's retriever and gateway."""
        gen_name = generator or self.settings.answer.generator
        chat = self.gateway.chat if gen_name != "extractive" else None
        return Asker(
            self.retriever,
            self.embedder,
            self.settings.answer,
            chat,
            prompts=self.prompt_source,
            aligner=self.aligner,
            calibrations=self._calibrations,
        )

    @property
    def aligner(self) -> Aligner | None:
        """The late-interaction aligner on this app's embedder (one per app, so its token cache is shared), or None
        when the embedder has no token vectors."""
        if self._aligner is None and isinstance(self.embedder, TokenEmbedder):
            self._aligner = Aligner(self.embedder)
        return self._aligner

    def ask(
        self,
        question: str,
        *,
        tenant: str | None = None,
        filters: Filters | None = None,
        generator: GeneratorName | None = None,
        history: Sequence[Turn] = (),
        caller: RequestContext | None = None,
    ) -> Answer:
        """Answer ``question``; with ``history`` (earlier turns), a follow-up is rewritten with it before retrieval.
        ``tenant`` is the store tenant searched, ``caller`` who asks (by default that tenant)."""
        gen_name = generator or self.settings.answer.generator
        tenant = tenant or self.settings.tenant
        return self.asker(gen_name).ask(
            tenant, question, filters=filters, generator=gen_name, history=history, caller=caller
        )

    def close(self) -> None:
        if self._gateway is not None and self._owns_gateway:
            self._gateway.close()
            self._gateway = None
        if self._store is not None:
            self._store.close()
        if self._prompts is not None:
            self._prompts.close()
            self._prompts = None
