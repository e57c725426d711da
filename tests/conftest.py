"""Shared fixtures: settings pointing at a temporary index, and the fake embedder wired through the real registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragwright.app import Ragwright
from ragwright.config import Settings, load_settings


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(tmp_path)
    for key in list(__import__("os").environ):
        if key.startswith("RAGWRIGHT_"):
            monkeypatch.delenv(key)
    return load_settings(data_dir=tmp_path / "index", embedding={"model": "fake"})


@pytest.fixture
def rw(settings: Settings) -> Ragwright:
    app = Ragwright(settings)
    yield app
    app.close()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
