"""llama.cpp's OpenAI-compatible HTTP server on loopback, run in-process by xllamacpp: what ``llama-server -m x.gguf``
serves, without a separate binary. Tests and benchmarks use it to drive a GGUF through the ``openai`` provider kind
(the path the docs give for a llama.cpp server or Ollama), log-probabilities included.

Example::

    server = LlamaServer(default_generator().model_path)
    settings = GatewaySettings(providers={"llamacpp": server.provider_settings("LLAMA_KEY")})
    os.environ["LLAMA_KEY"] = server.api_key
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from ragwright.config import ProviderSettings
from ragwright.errors import ModelError
from ragwright.models.generator import llama_params

__all__ = ["LlamaServer"]


class LlamaServer:
    """A GGUF served over HTTP on 127.0.0.1 (a free port) behind a random API key, for as long as this object lives."""

    def __init__(self, gguf: Path, *, threads: int = 1, n_ctx: int = 2048) -> None:
        self.api_key = secrets.token_urlsafe(24)
        params = llama_params(gguf, n_ctx=n_ctx, threads=threads, api_key=self.api_key)  # imports xllamacpp
        import xllamacpp

        try:
            self._server: Any = xllamacpp.Server(params)
        except RuntimeError as exc:
            raise ModelError(f"llama.cpp could not load {gguf}: {exc}") from exc
        self.base_url = f"{self._server.listening_address}/v1"

    def provider_settings(self, key_env: str) -> ProviderSettings:
        """``[gateway.providers.<name>]`` for this server, the key read from the environment variable ``key_env``."""
        return ProviderSettings(kind="openai", base_url=self.base_url, api_key=f"env:{key_env}")
