"""The evaluation case format: one JSON object per line of a ``.jsonl`` file.

Every field but ``id`` and ``question`` is optional, so a hand-written golden set can be as small as::

    {"id": "q1", "question": "What does the Pro plan cost?", "reference_answer": "$29 per month"}
    {"id": "q2", "question": "Who founded Quillfin?", "answerable": false, "tags": ["trap"]}
    {"id": "q3", "question": "How do I rotate a key?", "relevant": {"guide.md": 2, "faq.md": 1}}
    {"id": "q4", "question": "Which parts are not?", "history": [{"role": "user", "content": "What does the
     warranty cover?"}, {"role": "assistant", "content": "The compressor [1]."}]}

``history`` holds the earlier turns of a multi-turn case; the question is asked as their follow-up (rewritten with
them before retrieval, see ``answering/conversation.py``).

``relevant`` maps document ids to graded relevance (``>= 1`` is relevant, as in BEIR qrels). A document id is what
the index calls the document: the path for files, the record ``_id`` for JSONL corpora (see :func:`doc_key`).

Example::

    cases = load_cases(Path("cases.jsonl"))
    write_cases(Path("copy.jsonl"), cases)
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ragwright.answering.conversation import Turn
from ragwright.errors import UserError

__all__ = ["Case", "HistoryTurn", "doc_key", "load_cases", "load_jsonl", "write_cases"]

_C = TypeVar("_C", bound=BaseModel)


class HistoryTurn(BaseModel):
    """An earlier message of a multi-turn case."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str


class Case(BaseModel):
    """One question of a golden set."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    reference_answer: str | None = None
    alternatives: list[str] = Field(default_factory=list, description="Other accepted answers (SQuAD has several).")
    relevant: dict[str, int] | None = None
    answerable: bool = True
    tags: list[str] = Field(default_factory=list)
    history: list[HistoryTurn] = Field(default_factory=list, description="Earlier turns: the question follows them.")
    note: str | None = Field(None, description="Why the case exists (e.g. a user's feedback comment); not scored.")

    @property
    def turns(self) -> tuple[Turn, ...]:
        """The history as the answer pipeline takes it."""
        return tuple(Turn(t.role, t.content) for t in self.history)

    @property
    def references(self) -> tuple[str, ...]:
        """Every accepted answer text, the reference first."""
        refs = ([self.reference_answer] if self.reference_answer else []) + self.alternatives
        return tuple(dict.fromkeys(refs))


def load_cases(path: Path) -> list[Case]:
    """Read a JSONL case file; a bad line is a :class:`UserError` naming the line and the field."""
    return load_jsonl(path, Case)


def load_jsonl(path: Path, model: type[_C]) -> list[_C]:
    """One ``model`` per non-empty line of a JSONL file, each with a unique ``id``; errors name the line and field."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UserError(f"cannot read dataset {path}: {exc.strerror or exc}") from None
    cases: list[_C] = []
    seen: set[str] = set()
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            case = model.model_validate_json(line)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "line"
            raise UserError(f"{path}:{n}: {where}: {first['msg']}") from None
        case_id = str(getattr(case, "id", n))
        if case_id in seen:
            raise UserError(f"{path}:{n}: duplicate case id {case_id!r}")
        seen.add(case_id)
        cases.append(case)
    if not cases:
        raise UserError(f"{path} holds no cases")
    return cases


def write_cases(path: Path, cases: Iterable[Case]) -> int:
    """Write cases as JSONL (fields left at their defaults are omitted); returns how many."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for case in cases:
            fh.write(json.dumps(case.model_dump(exclude_defaults=True), ensure_ascii=False) + "\n")
            n += 1
    return n


def doc_key(doc_path: str) -> str:
    """The document id a retrieved passage counts as: the record id of a JSONL corpus (``corpus.jsonl#31715818``
    gives ``31715818``), otherwise the path itself, ``#`` included (``Solana.pdf#p3`` stays whole)."""
    corpus, sep, record = doc_path.partition(".jsonl#")
    return record if sep and corpus else doc_path
