"""Find the files an ingest run covers, and name them.

A document's id is its path relative to a base directory when it lies below it, else its absolute path. The base is
the directory that holds the index directory (the project, for the default ``./.ragwright``), so ids, and citations
like ``docs/guide.md``, do not depend on where the command is run from. Globs use ``fnmatch`` rules against that id
and against the path relative to the ingest root: ``*`` also matches ``/``.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ragwright.documents.loaders import SUPPORTED_EXTENSIONS
from ragwright.errors import UserError


@dataclass(frozen=True, slots=True)
class Source:
    """One file found under an ingest root, with the document id it is stored under."""

    path: Path
    """Absolute, resolved path."""
    doc_id: str
    root: Path


def doc_id_for(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def _matches(rel: str, doc_id: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(doc_id, p) for p in patterns)


def discover(
    roots: Sequence[Path],
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    base: Path | None = None,
) -> Iterator[Source]:
    """Yield every supported file below ``roots`` (files given directly are always taken), sorted, without repeats.

    Raises UserError for a root that does not exist.
    """
    base = (base or Path.cwd()).resolve()
    seen: set[Path] = set()
    for root in roots:
        if not root.exists():
            raise UserError(f"no such file or directory: {root}")
        root = root.resolve()
        if root.is_file():
            candidates: Iterator[Path] = iter([root])
        else:
            candidates = _walk(root)
        for path in candidates:
            if path in seen:
                continue
            doc_id = doc_id_for(path, base)
            rel = path.relative_to(root).as_posix() if path != root else path.name
            if path != root:
                if path.suffix.lower() not in SUPPORTED_EXTENSIONS and path.suffix.lower() != ".jsonl":
                    continue
                if include and not _matches(rel, doc_id, include):
                    continue
                if exclude and _matches(rel, doc_id, exclude):
                    continue
            seen.add(path)
            yield Source(path=path, doc_id=doc_id, root=root)


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                path = Path(dirpath) / name
                if path.is_file():
                    yield path
