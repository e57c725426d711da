"""The prompt registry: immutable numbered versions, labels as movable pointers, rollback, sticky A/B splits.

- A **version** (1, 2, 3, ...) is a template and its declared variables, checked when it is made
  (:func:`~ragwright.prompts.template.check_template`) and never changed after.
- A **label** points at one version: ``production`` is what requests get, ``latest`` follows each new version by itself,
  ``staging`` (or any other name) is yours to move. **Rollback** is moving a label back: ``label(t, "answer",
  "production", 1)``.
- A **split** sends ``percent`` of the traffic of a label to another version. Who gets which is a hash of the tenant,
  prompt, label and a sticky key (the API key, or the conversation's first question), so one caller keeps its arm for
  as long as the split stands. Without a sticky key a request gets the label's own version.

**Tenancy.** Every call names a tenant (a store tenant ``acme.kb`` is tenant ``acme``: knowledge bases share their
tenant's prompts). The packaged prompts (``ragwright/prompts/*.txt``) are the shared defaults: a tenant that has not
changed a prompt is served the packaged text as version 1 straight from the package, and its first write to that name
(create, label, split) copies it into the tenant's own rows as version 1 first. From then on the tenant's versions are
its own and no other tenant sees them; a later ragwright release that ships a new packaged text changes what untouched
tenants get, never a tenant that has versions of its own.

Example::

    reg = PromptRegistry(SQLitePromptStore(path))
    v2 = reg.create("acme", "answer", text, ("boundary",), note="shorter")   # version 2, labelled latest
    reg.label("acme", "answer", "staging", 2)
    reg.split("acme", "answer", 2, 10.0)                  # 10 % of production traffic, sticky per key
    reg.resolve("acme", "answer", sticky="key-17")        # version 1 or 2, the same one for key-17 every time
    reg.label("acme", "answer", "production", 1)          # rollback
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping
from typing import Protocol

from ragwright.errors import PromptError, PromptNotFound
from ragwright.prompts.model import DEFAULT_LABEL, LATEST, PromptInfo, PromptVersion, Split
from ragwright.prompts.packaged import PACKAGED_FILES, packaged, packaged_names
from ragwright.prompts.store import PromptStore, SQLitePromptStore
from ragwright.prompts.template import check_name, check_template
from ragwright.redact import quote_id

__all__ = ["PromptRegistry", "PromptSource", "ab_bucket", "default_registry", "prompt_tenant"]

BUCKETS = 10_000
MAX_VERSION = 2**31 - 1


def prompt_tenant(tenant: str) -> str:
    """The tenant whose prompts serve ``tenant`` (a store tenant ``acme.kb`` is ``acme``)."""
    return tenant.split(".", 1)[0]


def ab_bucket(tenant: str, name: str, label: str, sticky: str) -> float:
    """Where ``sticky`` falls in ``[0, 100)`` for this tenant's split of ``name``/``label``: the same every time."""
    digest = hashlib.sha256("\0".join((tenant, name, label, sticky)).encode("utf-8")).digest()
    return (int.from_bytes(digest[:8], "big") % BUCKETS) * 100 / BUCKETS


class PromptSource(Protocol):
    """What a call site needs: the version of ``name`` to render for ``tenant`` (and this sticky key)."""

    def resolve(self, tenant: str, name: str, *, sticky: str | None = None) -> PromptVersion: ...


class PromptRegistry:
    """Versions, labels and splits per tenant over a :class:`PromptStore` (see the module docstring)."""

    def __init__(self, store: PromptStore) -> None:
        self.store = store

    # -- reads ---------------------------------------------------------------------------------------------------

    def names(self, tenant: str) -> list[str]:
        return sorted(set(packaged_names()) | set(self.store.names(prompt_tenant(tenant))))

    def versions(self, tenant: str, name: str) -> list[PromptVersion]:
        found = self.store.versions(prompt_tenant(tenant), check_name("prompt", name))
        if found:
            return found
        if name in PACKAGED_FILES:
            return [packaged(name)]
        raise PromptNotFound(f"no prompt named {quote_id(name)}")

    def labels(self, tenant: str, name: str) -> dict[str, int]:
        found = self.store.labels(prompt_tenant(tenant), check_name("prompt", name))
        if found:
            return found
        if name in PACKAGED_FILES:
            return {DEFAULT_LABEL: 1, LATEST: 1}
        raise PromptNotFound(f"no prompt named {quote_id(name)}")

    def info(self, tenant: str, name: str) -> PromptInfo:
        """One name as ``tenant`` sees it; ``customised`` once the tenant has rows of its own (see the module doc)."""
        t = prompt_tenant(tenant)
        own = self.store.versions(t, check_name("prompt", name))
        count = len(own) or len(self.versions(t, name))
        return PromptInfo(name, count, self.labels(t, name), tuple(self.store.splits(t, name)), customised=bool(own))

    def overview(self, tenant: str) -> list[PromptInfo]:
        """Every prompt name the tenant can use (the packaged ones and its own), with labels and splits."""
        return [self.info(tenant, name) for name in self.names(tenant)]

    def get(self, tenant: str, name: str, ref: int | str = DEFAULT_LABEL) -> PromptVersion:
        """One version by number (``3``, ``"3"``) or by label (``"staging"``), ignoring splits."""
        t = prompt_tenant(tenant)
        number = _number(ref)
        if number is None:
            labels = self.labels(t, name)
            if str(ref) not in labels:
                raise PromptNotFound(f"prompt {quote_id(name)} has no label {quote_id(str(ref))}")
            number = labels[str(ref)]
        found = self.store.version(t, check_name("prompt", name), number)
        if found is None and not self.store.versions(t, name) and name in PACKAGED_FILES and number == 1:
            found = packaged(name)
        if found is None:
            raise PromptNotFound(f"prompt {quote_id(name)} has no version {number}")
        return found

    def resolve(
        self, tenant: str, name: str, *, label: str = DEFAULT_LABEL, sticky: str | None = None
    ) -> PromptVersion:
        """The version a request renders: ``label``'s, or its split's arm for ``sticky``. One indexed query."""
        t = prompt_tenant(tenant)
        pointer = self.store.pointer(t, name, label)
        if pointer is None:
            return self.get(t, name, label)  # untouched tenant: the packaged text; else a clear PromptNotFound
        number, split = pointer
        if split is not None and sticky is not None and ab_bucket(t, name, label, sticky) < split.percent:
            number = split.version
        found = self.store.version(t, name, number)
        if found is None:  # the foreign keys make this impossible; say so rather than serve something else
            raise PromptNotFound(f"prompt {name!r} label {label!r} points at a missing version {number}")
        return found

    def diff(self, tenant: str, name: str, a: int | str, b: int | str) -> str:
        """A unified diff of two versions' templates (by number or label); empty when they are identical."""
        old, new = self.get(tenant, name, a), self.get(tenant, name, b)
        lines = difflib.unified_diff(
            old.template.splitlines(keepends=True),
            new.template.splitlines(keepends=True),
            fromfile=f"{name} v{old.version}",
            tofile=f"{name} v{new.version}",
        )
        return "".join(lines)

    def pinned(self, pins: Mapping[str, int | str]) -> PromptSource:
        """A source that serves ``pins`` (name -> version or label) and this registry's choice for other names."""
        return _Pinned(self, dict(pins))

    # -- writes --------------------------------------------------------------------------------------------------

    def create(
        self,
        tenant: str,
        name: str,
        template: str,
        variables: tuple[str, ...] | list[str],
        *,
        note: str = "",
        by: str = "",
    ) -> PromptVersion:
        """A new version (the next number), labelled ``latest``; a new name's first version is also ``production``.
        A version of a packaged prompt must declare the packaged variables (the call site fills exactly those)."""
        check_name("prompt", name)
        declared = check_template(template, variables)
        if name in PACKAGED_FILES and declared != packaged(name).variables:
            raise PromptError(
                f"prompt {name!r} is rendered with the variables {', '.join(packaged(name).variables) or '(none)'};"
                f" a version that declares {', '.join(declared) or '(none)'} could not be served"
            )
        if len(note) > 500:
            raise PromptError("the note is over 500 characters")
        return self.store.add_version(
            prompt_tenant(tenant), name, template, declared, note=note, by=by, seed=self._seed(name)
        )

    def label(self, tenant: str, name: str, label: str, version: int, *, by: str = "") -> int | None:
        """Point ``label`` at ``version`` (a rollback when it is an earlier one); the previous version, or None."""
        check_name("prompt", name)
        if check_name("label", label) == LATEST:
            raise PromptError("the 'latest' label follows the newest version by itself and cannot be moved")
        number = _check_version(version)
        return self.store.move_label(prompt_tenant(tenant), name, label, number, by=by, seed=self._seed(name))

    def split(
        self, tenant: str, name: str, version: int, percent: float, *, label: str = DEFAULT_LABEL, by: str = ""
    ) -> Split:
        """Send ``percent`` (0 < p < 100) of ``label``'s sticky keys to ``version``; replaces any split of it."""
        check_name("prompt", name)
        check_name("label", label)
        if not 0 < percent < 100:
            raise PromptError(f"an A/B share is a percentage between 0 and 100 (exclusive), not {percent}")
        made = Split(label, _check_version(version), float(percent))
        self.store.set_split(prompt_tenant(tenant), name, label, made, by=by, seed=self._seed(name))
        return made

    def unsplit(self, tenant: str, name: str, *, label: str = DEFAULT_LABEL, by: str = "") -> None:
        """End the split of ``label``: all of its traffic gets the version it points at."""
        check_name("prompt", name)
        self.store.set_split(
            prompt_tenant(tenant), name, check_name("label", label), None, by=by, seed=self._seed(name)
        )

    def _seed(self, name: str) -> PromptVersion | None:
        return packaged(name) if name in PACKAGED_FILES else None

    def close(self) -> None:
        self.store.close()


def _check_version(version: int) -> int:
    if not 1 <= int(version) <= MAX_VERSION:
        raise PromptError(f"a version is a number from 1 to {MAX_VERSION}, not {version}")
    return int(version)


def _number(ref: int | str) -> int | None:
    text = str(ref).strip()
    if not text.isdigit():
        return None  # labels start with a letter, so "2" is always a version
    return _check_version(int(text))


class _Pinned:
    """:meth:`PromptRegistry.pinned`: fixed versions for some names (eval runs compare prompt versions this way)."""

    def __init__(self, registry: PromptRegistry, pins: dict[str, int | str]) -> None:
        self.registry = registry
        self.pins = pins

    def resolve(self, tenant: str, name: str, *, sticky: str | None = None) -> PromptVersion:
        if name in self.pins:
            return self.registry.get(tenant, name, self.pins[name])
        return self.registry.resolve(tenant, name, sticky=sticky)


_DEFAULT: PromptRegistry | None = None


def default_registry() -> PromptRegistry:
    """The packaged prompts only (an in-memory store): for library calls made without an index."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = PromptRegistry(SQLitePromptStore(":memory:"))
    return _DEFAULT
