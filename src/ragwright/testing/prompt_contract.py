"""The contract every :class:`~ragwright.prompts.store.PromptStore` passes, run against SQLite and PostgreSQL.

Example::

    def test_sqlite(tmp_path):
        check_prompt_store(lambda: SQLitePromptStore(tmp_path / "index.sqlite"))
"""

from __future__ import annotations

from collections.abc import Callable

from ragwright.errors import PromptError, PromptNotFound
from ragwright.prompts.registry import PromptRegistry
from ragwright.prompts.store import PromptStore

__all__ = ["check_prompt_store"]


def _raises(kind: type[Exception], fn: Callable[[], object]) -> Exception:
    try:
        fn()
    except kind as exc:
        return exc
    raise AssertionError(f"expected {kind.__name__}")


def check_prompt_store(make: Callable[[], PromptStore]) -> None:
    """Versions, labels, rollback, splits and tenant isolation through a :class:`PromptRegistry` over ``make()``;
    a second store from ``make()`` (another process, say) sees the first one's writes."""
    reg = PromptRegistry(make())
    try:
        packaged = reg.resolve("acme", "answer")
        assert packaged.version == 1 and packaged.packaged
        v2 = reg.create("acme", "answer", packaged.template + "\nBe brief.", packaged.variables, note="brief", by="t")
        assert v2.version == 2 and reg.labels("acme", "answer") == {"latest": 2, "production": 1}
        assert reg.versions("acme", "answer")[0].template == packaged.template  # v1 copied before v2
        assert reg.resolve("acme", "answer").version == 1
        assert reg.label("acme", "answer", "production", 2) == 1
        assert reg.resolve("acme", "answer").template == v2.template
        assert reg.label("acme", "answer", "production", 1) == 2  # rollback
        assert reg.resolve("acme", "answer").template == packaged.template
        # another tenant, and a knowledge base of acme's
        assert reg.labels("other", "answer") == {"production": 1, "latest": 1}
        assert reg.resolve("acme.kb1", "answer").version == 1 and len(reg.versions("acme.kb1", "answer")) == 2
        _raises(PromptNotFound, lambda: reg.get("other", "answer", 2))
        # a split sends a share of sticky keys to another version, the same keys every time
        reg.split("acme", "answer", 2, 50.0)
        arms = {k: reg.resolve("acme", "answer", sticky=k).version for k in map(str, range(200))}
        assert set(arms.values()) == {1, 2}
        assert arms == {k: reg.resolve("acme", "answer", sticky=k).version for k in arms}
        assert reg.resolve("acme", "answer").version == 1  # no sticky key: the label's own version
        reg.unsplit("acme", "answer")
        assert {reg.resolve("acme", "answer", sticky=k).version for k in arms} == {1}
        # refusals
        _raises(PromptError, lambda: reg.create("acme", "answer", "$boundary $tone", ("boundary",)))
        _raises(PromptError, lambda: reg.label("acme", "answer", "latest", 1))
        _raises(PromptNotFound, lambda: reg.label("acme", "answer", "staging", 9))
        _raises(PromptError, lambda: reg.split("acme", "answer", 2, 100.0))
        # a new name: its first version serves at once
        own = reg.create("acme", "greeting", "Hello $who.", ("who",))
        assert reg.resolve("acme", "greeting").render(who="Ada") == "Hello Ada." and own.version == 1
        assert "greeting" not in reg.names("other")
        second = PromptRegistry(make())
        try:
            assert second.labels("acme", "answer") == reg.labels("acme", "answer")
        finally:
            second.close()
    finally:
        reg.close()
