"""Chat completions for non-rag models go through the real gateway, and only for the names it is configured with."""

from __future__ import annotations

from pathlib import Path

import pytest
from openai import NotFoundError, OpenAI

from ragwright.config import load_settings
from ragwright.interfaces.http.app import create_app
from tests.http.conftest import clean_env, run_server


def test_only_configured_gateway_models_are_served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    clean_env(monkeypatch)
    settings = load_settings(
        data_dir=tmp_path / "index",
        embedding={"model": "fake"},
        service={"rate_limit_rpm": None},
        gateway={"ledger": False, "chain": ["fake:echo"], "aliases": {"fast": ["fake:echo"]}},
    )
    app = create_app(settings)
    key, _ = app.state.service.keys.create("acme", scopes=("read",))
    for url in run_server(app):
        client = OpenAI(base_url=f"{url}/v1", api_key=key)
        listed = {m.id for m in client.models.list()}
        assert {"default", "fast", "fake:echo"} <= listed
        reply = client.chat.completions.create(model="fast", messages=[{"role": "user", "content": "ping pong"}])
        assert reply.choices[0].message.content == "(fake reply) ping pong"
        with pytest.raises(NotFoundError) as err:  # an unconfigured spec: no ad-hoc provider, no unbounded state
            client.chat.completions.create(model="fake:other", messages=[{"role": "user", "content": "hi"}])
        assert "unknown model" in str(err.value)
