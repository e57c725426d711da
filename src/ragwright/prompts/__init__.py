"""The prompt registry: every prompt ragwright sends, as immutable versions with movable labels (docs/prompts.md).

The packaged texts (``*.txt`` in this directory) are version 1 of each name; see :mod:`.registry`.
"""

from __future__ import annotations

from ragwright.prompts.model import DEFAULT_LABEL, Label, PromptInfo, PromptVersion, Split
from ragwright.prompts.registry import PromptRegistry, PromptSource, default_registry, prompt_tenant
from ragwright.prompts.store import PromptStore, SQLitePromptStore

__all__ = [
    "DEFAULT_LABEL",
    "Label",
    "PromptInfo",
    "PromptRegistry",
    "PromptSource",
    "PromptStore",
    "PromptVersion",
    "SQLitePromptStore",
    "Split",
    "default_registry",
    "prompt_tenant",
]
