"""`ragwright gateway serve` as a user runs it: a subprocess on uvloop + httptools, a config file, an API key from the
key store, an OpenAI-compatible upstream on loopback, and the official `openai` client; then `ragwright usage`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from ragwright.config import load_settings
from ragwright.gateway.types import Usage
from ragwright.service.keys import KeyStore, key_path
from ragwright.testing.provider_servers import OpenAIServer, Plan


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def upstream() -> Iterator[OpenAIServer]:
    with OpenAIServer(default=Plan(text="served by the loopback upstream", usage=Usage(7, 0, 5, 0))) as server:
        yield server  # type: ignore[misc]


def test_serve_with_keys_then_usage(tmp_path: Path, upstream: OpenAIServer) -> None:
    config = tmp_path / "ragwright.toml"
    config.write_text(
        f"""data_dir = "{tmp_path / "data"}"
[gateway]
chain = ["loop:gpt-x"]
[gateway.providers.loop]
kind = "openai"
base_url = "{upstream.base_url}"
""",
        encoding="utf-8",
    )
    with KeyStore(key_path(load_settings(config))) as store:
        raw, _ = store.create("acme", name="test")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ragwright",
            "gateway",
            "serve",
            "--config",
            str(config),
            "--port",
            str(port),
            "--require-key",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=raw, max_retries=0, timeout=10)
        deadline = time.monotonic() + 30
        while True:
            try:
                models = [m.id for m in client.models.list()]
                break
            except openai.APIConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        assert models == ["default", "loop:gpt-x"]
        reply = client.chat.completions.create(model="default", messages=[{"role": "user", "content": "hi"}])
        assert reply.choices[0].message.content == "served by the loopback upstream"
        stream = client.chat.completions.create(
            model="default",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
        assert (
            "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "served by the loopback upstream"
        )
        assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="rw_bad", max_retries=0).models.list()
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0].decode(errors="replace")
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal: -15 is its clean exit
    assert proc.returncode in (0, -15), out
    # the ledger was flushed on the way out: both calls are on disk
    usage = subprocess.run(
        [sys.executable, "-m", "ragwright", "usage", "--by", "tenant", "--json", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    rows = json.loads(usage.stdout)["rows"]
    assert [(r["group"], r["calls"], r["errors"], r["input_tokens"]) for r in rows] == [("acme", 2, 0, 14)]
