"""Split GGUF wheels: parts joined in order, and refused unless the joined bytes have the pinned sha256 and size."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ragwright.errors import ModelChecksumError, ModelNotInstalledError
from ragwright.models.gguf_parts import QWEN_05B, SplitModel, joined_gguf, part_files

PARTS = {"pkg_a": {"part01.bin": b"GGUF-head-", "part02.bin": b"middle-"}, "pkg_b": {"part03.bin": b"tail"}}
JOINED = b"GGUF-head-middle-tail"


def _fake(tmp_path: Path, parts: dict[str, dict[str, bytes]] = PARTS) -> tuple[SplitModel, dict[str, Path]]:
    roots = {}
    for package, files in parts.items():
        data = tmp_path / "site" / package / "data"
        data.mkdir(parents=True)
        for name, content in files.items():
            (data / name).write_bytes(content)
        roots[package] = data.parent
    model = SplitModel(
        name="fake",
        packages=tuple(parts),
        sha256=hashlib.sha256(JOINED).hexdigest(),
        size=len(JOINED),
        filename="fake.gguf",
        extra="fake",
    )
    return model, roots


def test_parts_are_joined_in_order_and_the_join_is_reused(tmp_path: Path) -> None:
    model, roots = _fake(tmp_path)
    path = joined_gguf(model, tmp_path / "cache", roots)
    assert path.read_bytes() == JOINED and path.name == "fake.gguf"
    assert joined_gguf(model, tmp_path / "cache", roots) == path


def test_a_changed_part_is_refused_and_nothing_is_left_behind(tmp_path: Path) -> None:
    model, roots = _fake(tmp_path)
    (roots["pkg_b"] / "data" / "part03.bin").write_bytes(b"tai1")
    with pytest.raises(ModelChecksumError, match="refusing"):
        joined_gguf(model, tmp_path / "cache", roots)
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_tampered_join_in_the_cache_is_not_used(tmp_path: Path) -> None:
    model, roots = _fake(tmp_path)
    path = joined_gguf(model, tmp_path / "cache", roots)
    path.write_bytes(b"GGUF-evil-middle-tail")
    (roots["pkg_a"] / "data" / "part01.bin").write_bytes(b"GGUF-evil-")
    with pytest.raises(ModelChecksumError):
        joined_gguf(model, tmp_path / "cache", roots)
    assert not path.exists()


def test_missing_part_packages_name_the_extra(tmp_path: Path) -> None:
    model, roots = _fake(tmp_path)
    del roots["pkg_b"]
    with pytest.raises(ModelNotInstalledError, match=r"pkg_b.*ragwright\[fake\]"):
        part_files(model, {**roots, "pkg_b": tmp_path / "nowhere"})


def test_pinned_qwen_values_are_those_measured() -> None:
    assert QWEN_05B.sha256 == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    assert QWEN_05B.size == 491_400_064 and len(QWEN_05B.packages) == 6
