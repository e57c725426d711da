"""Few-shot examples for an extraction, chosen per input by embedding similarity.

A user's example file is JSON Lines, one worked example per line: ``{"text": "...", "output": {...}}`` (an ``id`` is
kept when given). :class:`ExamplePool` embeds every example's text once with the configured embedder (the one that
indexes the knowledge base) and, for each input, returns the ``k`` examples whose text is closest to it (cosine of
the L2-normalised vectors), most similar first. Each example's output must follow the schema: a pool that teaches
the model a wrong shape is refused when it is loaded, not discovered in the replies.

Example::

    pool = ExamplePool.load(Path("examples.jsonl"), embedder, schema)
    pool.select("TOTAL 12.50 ... SHOP NAME", k=2)   # the two receipts most like this one
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ragwright.errors import ExtractionSchemaError
from ragwright.extract.schema import ExtractionSchema
from ragwright.models.base import Embedder

__all__ = ["Example", "ExamplePool", "MAX_EXAMPLES"]

MAX_EXAMPLES = 10_000
"""An example file with more lines is refused (each is embedded when the pool loads)."""
EMBED_CHARS = 2_000
"""Only the start of each text is embedded: enough to tell a receipt from a resume, and it bounds the cost."""


@dataclass(frozen=True, slots=True)
class Example:
    """One worked example: a document's text and the output the schema wants for it."""

    text: str
    output: dict[str, Any]
    id: str = ""


class ExamplePool:
    """Examples and their embeddings; :meth:`select` picks the nearest ones to an input."""

    def __init__(self, examples: Sequence[Example], embedder: Embedder) -> None:
        self.examples = list(examples)
        self.embedder = embedder
        texts = [e.text[:EMBED_CHARS] for e in self.examples]
        self._vectors: npt.NDArray[np.float32] = (
            embedder.embed(texts) if texts else np.zeros((0, embedder.dim), dtype=np.float32)
        )

    @classmethod
    def load(cls, path: Path, embedder: Embedder, schema: ExtractionSchema) -> ExamplePool:
        return cls(read_examples(path, schema), embedder)

    def __len__(self) -> int:
        return len(self.examples)

    def select(self, text: str, k: int) -> list[Example]:
        """The ``k`` examples most similar to ``text``, most similar first (ties: file order)."""
        if k <= 0 or not self.examples:
            return []
        query = self.embedder.embed_query(text[:EMBED_CHARS])
        scores = self._vectors @ query
        order = sorted(range(len(self.examples)), key=lambda i: (-float(scores[i]), i))
        return [self.examples[i] for i in order[:k]]


def read_examples(path: Path, schema: ExtractionSchema) -> list[Example]:
    """The examples of a JSONL file, each checked against ``schema``; :class:`ExtractionSchemaError` for a bad line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ExtractionSchemaError(f"cannot read examples {path}: {exc.strerror or exc}") from None
    out: list[Example] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if len(out) >= MAX_EXAMPLES:
            raise ExtractionSchemaError(f"{path}: over {MAX_EXAMPLES:,} examples")
        out.append(parse_example(line, schema, where=f"{path}:{n}"))
    return out


def parse_example(line: str | dict[str, Any], schema: ExtractionSchema, *, where: str) -> Example:
    try:
        raw = json.loads(line) if isinstance(line, str) else line
    except json.JSONDecodeError as exc:
        raise ExtractionSchemaError(f"{where}: not JSON ({exc.msg})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str) or not isinstance(raw.get("output"), dict):
        raise ExtractionSchemaError(f'{where}: an example is {{"text": "...", "output": {{...}}}}')
    problems = schema.errors(raw["output"])
    if problems:
        raise ExtractionSchemaError(f"{where}: the example's output does not follow the schema: {problems[0]}")
    return Example(raw["text"], raw["output"], str(raw.get("id") or ""))
