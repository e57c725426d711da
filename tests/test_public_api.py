"""The public API: a pinned ``__all__``, a cheap import with no side effects, a version, and a one-line docstring on
every public class (checked from the source, so the walk imports nothing and takes well under a second)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import ragwright

SRC = Path(ragwright.__file__).parent
ROOT = SRC.parent.parent


def test_all_is_pinned() -> None:
    assert ragwright.__all__ == [
        "Answer",
        "ChatModel",
        "ConfigError",
        "Filters",
        "GatewayError",
        "IngestError",
        "ModelError",
        "Ragwright",
        "RagwrightError",
        "SearchResult",
        "Settings",
        "StoreError",
        "UserError",
        "load_settings",
        "testing",
    ]


def test_every_exported_name_is_the_real_thing() -> None:
    from ragwright.app import Ragwright
    from ragwright.config import load_settings
    from ragwright.errors import GatewayError, RagwrightError, StoreError, UserError
    from ragwright.testing import FakeChatModel

    for name in ragwright.__all__:
        assert getattr(ragwright, name) is not None, name
    assert ragwright.Ragwright is Ragwright and ragwright.load_settings is load_settings
    for root in (ragwright.UserError, ragwright.IngestError, ragwright.StoreError, ragwright.ModelError):
        assert root.__bases__ == (RagwrightError,)
    assert ragwright.GatewayError is GatewayError and ragwright.StoreError is StoreError
    assert issubclass(ragwright.ConfigError, UserError)
    assert ragwright.testing.FakeChatModel is FakeChatModel
    assert set(ragwright.__all__) <= set(dir(ragwright))


def test_version_is_the_package_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert ragwright.__version__ == project["version"]


def test_import_is_cheap_and_has_no_side_effects(tmp_path: Path) -> None:
    probe = (
        "import json, logging, os, sys\n"
        "before = set(sys.modules)\n"
        "handlers = list(logging.getLogger().handlers)\n"
        "import ragwright\n"
        "new = sorted(set(sys.modules) - before)\n"
        "print(json.dumps({'new': new, 'handlers': len(logging.getLogger().handlers) - len(handlers),"
        " 'files': os.listdir('.')}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True
    )
    report = json.loads(done.stdout)
    heavy = {"onnxruntime", "fastapi", "httpx", "numpy", "pydantic", "sqlean", "tokenizers", "mcp", "uvicorn"}
    assert not heavy & {m.split(".")[0] for m in report["new"]}, report["new"]
    assert [m for m in report["new"] if m.startswith("ragwright")] == ["ragwright"]
    assert report["handlers"] == 0 and report["files"] == [] and done.stderr == ""


def test_every_public_class_has_a_docstring() -> None:
    missing = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        if any(part.startswith("_") and part != "__init__.py" for part in rel.parts):
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_") and not ast.get_docstring(node):
                missing.append(f"{rel.as_posix()}:{node.name}")
    assert missing == [], f"public classes need a one-line docstring: {missing}"
