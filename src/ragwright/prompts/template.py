"""Prompt templates: ``string.Template`` text whose ``$variables`` are declared and checked when a version is made.

A version is refused (:class:`~ragwright.errors.PromptError`) when its text uses a variable it does not declare,
declares one it never uses, or holds a ``$`` that is neither ``$$``, ``$name`` nor ``${name}``; so a typo surfaces when
the version is created, not as a ``KeyError`` on the request path. Rendering demands exactly the declared variables.

Example::

    check_template("Answer in $language: $question", ("language", "question"))   # ok
    check_template("Answer: $question", ("question", "tone"))
    # PromptError: the template declares variables it never uses: tone
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from string import Template

from ragwright.errors import PromptError

__all__ = ["MAX_TEMPLATE_CHARS", "check_name", "check_template", "render", "variables_of"]

MAX_TEMPLATE_CHARS = 64_000
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


def check_name(kind: str, value: str) -> str:
    """``value`` when it is a valid prompt or label name (lower-case letters, digits, ``_``; 1-64 characters)."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise PromptError(
            f"invalid {kind} name {value!r}: use 1-64 lower-case letters, digits or '_', starting with a letter"
        )
    return value


def variables_of(text: str) -> tuple[str, ...]:
    """The variables ``text`` uses, in first-use order; :class:`PromptError` for a ``$`` that is not a placeholder."""
    template = Template(text)
    if not template.is_valid():
        bad = next(m for m in template.pattern.finditer(text) if m.group("invalid") is not None)
        line = text.count("\n", 0, bad.start()) + 1
        raise PromptError(
            f"invalid placeholder at line {line}: write $name or ${{name}} for a variable and $$ for a literal $"
        )
    return tuple(dict.fromkeys(template.get_identifiers()))


def check_template(text: str, declared: Iterable[str]) -> tuple[str, ...]:
    """The declared variables, sorted, once ``text`` is known to use exactly them; else :class:`PromptError`."""
    if not isinstance(text, str) or not text.strip():
        raise PromptError("a prompt template cannot be empty")
    if len(text) > MAX_TEMPLATE_CHARS:
        raise PromptError(f"the template is {len(text)} characters, over the {MAX_TEMPLATE_CHARS} limit")
    names = [check_name("variable", v) for v in declared]
    used = set(variables_of(text))
    undeclared = sorted(used - set(names))
    unused = sorted(set(names) - used)
    problems = []
    if undeclared:
        problems.append(f"uses undeclared variables: {', '.join(undeclared)}")
    if unused:
        problems.append(f"declares variables it never uses: {', '.join(unused)}")
    if problems:
        raise PromptError("the template " + "; ".join(problems))
    return tuple(sorted(set(names)))


def render(text: str, variables: tuple[str, ...], values: Mapping[str, str]) -> str:
    """``text`` with ``values`` in place; ``values`` must hold exactly the declared ``variables``."""
    missing = sorted(set(variables) - set(values))
    extra = sorted(set(values) - set(variables))
    if missing or extra:
        parts = [f"missing {', '.join(missing)}"] if missing else []
        parts += [f"not declared: {', '.join(extra)}"] if extra else []
        raise PromptError(f"cannot render the prompt: {'; '.join(parts)}")
    return Template(text).substitute(values)
