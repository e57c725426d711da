"""The records of the prompt registry: an immutable version, a label pointing at one, an A/B split of a label.

Example::

    v = PromptVersion("answer", 3, "Answer in $language.", ("language",))
    v.render(language="French")   # "Answer in French."
    v.ref                         # PromptRef(name='answer', version='3'): what a request records
    v.tag                         # "answer/v3#1c0f7a2e": name, number and text hash, for caches and eval runs
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ragwright.gateway.types import PromptRef
from ragwright.prompts.template import render

__all__ = ["DEFAULT_LABEL", "LATEST", "Label", "PromptInfo", "PromptVersion", "Split"]


class Label(StrEnum):
    """The labels with a meaning of their own; any other valid name is a label too (``canary``, ``eu``)."""

    PRODUCTION = "production"
    """What requests are served unless told otherwise."""
    STAGING = "staging"
    LATEST = "latest"
    """Moves to each new version by itself; cannot be set by hand."""


DEFAULT_LABEL = Label.PRODUCTION.value
LATEST = Label.LATEST.value


@dataclass(frozen=True, slots=True)
class PromptVersion:
    """One immutable numbered version of a named prompt: its template and the variables it declares."""

    name: str
    version: int
    template: str
    variables: tuple[str, ...] = ()
    note: str = ""
    created_at: float = 0.0
    created_by: str = ""
    packaged: bool = False
    """True for the text shipped in ``ragwright/prompts/*.txt`` (version 1 of a tenant that has not changed it)."""

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.template.encode("utf-8")).hexdigest()[:8]

    @property
    def ref(self) -> PromptRef:
        return PromptRef(self.name, str(self.version))

    @property
    def tag(self) -> str:
        """``name/vN#hash``: changes whenever the text does (judge cache keys, eval run records)."""
        return f"{self.name}/v{self.version}#{self.digest}"

    def render(self, **values: str) -> str:
        """The template with ``values`` in place: exactly the declared variables, else ``PromptError``."""
        return render(self.template, self.variables, values)

    def to_dict(self, *, template: bool = True) -> dict[str, Any]:
        """As the CLI (``--json``), the admin routes and MCP show it."""
        out: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "tag": self.tag,
            "variables": list(self.variables),
            "note": self.note,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "packaged": self.packaged,
        }
        if template:
            out["template"] = self.template
        return out


@dataclass(frozen=True, slots=True)
class Split:
    """An A/B test on a label: ``percent`` of sticky keys get ``version`` instead of what the label points at."""

    label: str
    version: int
    percent: float


@dataclass(frozen=True, slots=True)
class PromptInfo:
    """A prompt name as one tenant sees it: its versions' count, its labels and splits."""

    name: str
    versions: int
    labels: dict[str, int]
    splits: tuple[Split, ...] = ()
    customised: bool = False
    """False: the tenant serves the packaged text (no version of its own yet)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "versions": self.versions,
            "labels": dict(self.labels),
            "splits": [{"label": s.label, "version": s.version, "percent": s.percent} for s in self.splits],
            "customised": self.customised,
        }
