"""The prompt registry over SQLite: the store contract, refusals with clear messages, and its properties."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragwright.errors import PromptError, PromptNotFound
from ragwright.prompts import PromptRegistry, SQLitePromptStore
from ragwright.prompts.registry import ab_bucket
from ragwright.prompts.template import check_template
from ragwright.sqlite_migrations import migrate
from ragwright.store.migrations import INDEX
from ragwright.store.sqlite import SQLiteStore
from ragwright.testing.prompt_contract import check_prompt_store


def test_sqlite_store_passes_the_contract(tmp_path: Path) -> None:
    check_prompt_store(lambda: SQLitePromptStore(tmp_path / "index.sqlite"))


def test_tables_live_in_the_index_file_beside_the_store(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    store = SQLiteStore(path)
    reg = PromptRegistry(SQLitePromptStore(path))
    reg.create("acme", "greeting", "Hi $who", ("who",))
    reg.close()
    store.close()
    again = SQLiteStore(path)  # the index's own migrations do not mistake the registry's for a newer ragwright
    again.close()
    import sqlite3

    names = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM migrations")}
    assert "prompts.m001_prompt_registry" in names and set(INDEX.names()) <= names
    assert migrate(sqlite3.connect(path, isolation_level=None), INDEX) == []


@pytest.mark.parametrize(
    ("template", "declared", "message"),
    [
        ("Hi $who and $whom", ("who",), "uses undeclared variables: whom"),
        ("Hi $who", ("who", "tone"), "declares variables it never uses: tone"),
        ("Costs 5$ now $who", ("who",), "invalid placeholder at line 1"),
        ("   ", (), "cannot be empty"),
        ("Hi ${who}", ("Who",), "invalid variable name 'Who'"),
    ],
)
def test_bad_templates_are_refused_with_the_reason(template: str, declared: tuple[str, ...], message: str) -> None:
    with pytest.raises(PromptError, match=message.replace("$", r"\$")):
        check_template(template, declared)


def test_packaged_names_keep_their_variables(tmp_path: Path) -> None:
    reg = PromptRegistry(SQLitePromptStore(tmp_path / "i.sqlite"))
    with pytest.raises(PromptError, match="rendered with the variables boundary"):
        reg.create("acme", "answer", "No fence here.", ())
    with pytest.raises(PromptNotFound, match="no prompt named 'nope'"):
        reg.versions("acme", "nope")
    with pytest.raises(PromptError, match="invalid prompt name"):
        reg.get("acme", "../etc")
    with pytest.raises(PromptError, match="a version is a number from 1"):
        reg.label("acme", "answer", "staging", 2**63)
    with pytest.raises(PromptError, match="a version is a number from 1"):
        reg.get("acme", "answer", "99999999999999999999")
    reg.close()


_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="$"), min_size=1, max_size=40)
_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("create"), _TEXT),
        st.tuples(st.just("label"), st.sampled_from(["production", "staging", "canary"]), st.integers(1, 6)),
        st.tuples(st.just("split"), st.integers(1, 6), st.floats(1, 99)),
    ),
    max_size=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=_OPS)
def test_labels_always_point_at_an_existing_version(tmp_path: Path, ops: list[tuple[object, ...]]) -> None:
    reg = PromptRegistry(SQLitePromptStore(":memory:"))
    for op in ops:
        try:
            if op[0] == "create":
                names = ("boundary", "history", "question")
                reg.create("t", "condense", f"{op[1]} $boundary $history $question", names)
            elif op[0] == "label":
                reg.label("t", "condense", str(op[1]), int(op[2]))  # type: ignore[call-overload]
            else:
                reg.split("t", "condense", int(op[1]), float(op[2]))  # type: ignore[arg-type]
        except PromptNotFound:
            pass  # a version that does not exist (yet): refused, and nothing changed
        existing = {v.version for v in reg.versions("t", "condense")}
        assert set(reg.labels("t", "condense").values()) <= existing
        assert {s.version for s in reg.store.splits("t", "condense")} <= existing
        assert reg.labels("t", "condense")["latest"] == max(existing)
    reg.close()


@settings(max_examples=40, deadline=None)
@given(texts=st.lists(_TEXT, min_size=1, max_size=5), history=_TEXT, question=_TEXT, back=st.integers(0, 5))
def test_rollback_restores_byte_identical_output(texts: list[str], history: str, question: str, back: int) -> None:
    reg = PromptRegistry(SQLitePromptStore(":memory:"))
    values = {"boundary": "b0", "history": history, "question": question}
    before = reg.resolve("t", "condense").render(**values)
    made = [reg.create("t", "condense", f"{t}\n$boundary $history $question", tuple(values)) for t in texts]
    target = made[min(back, len(made) - 1)]
    reg.label("t", "condense", "production", target.version)
    reg.label("t", "condense", "production", 1)  # rollback to the packaged version
    assert reg.resolve("t", "condense").render(**values) == before
    reg.label("t", "condense", "production", target.version)
    assert reg.resolve("t", "condense").render(**values) == target.render(**values)
    reg.close()


@settings(max_examples=25, deadline=None)
@given(percent=st.floats(5, 95), salt=st.text(max_size=8))
def test_ab_assignment_is_sticky_and_close_to_the_share(percent: float, salt: str) -> None:
    reg = PromptRegistry(SQLitePromptStore(":memory:"))
    v2 = reg.create("t", "answer", "B $boundary", ("boundary",))
    reg.split("t", "answer", v2.version, percent)
    keys = [f"{salt}-{i}" for i in range(2000)]
    first = [reg.resolve("t", "answer", sticky=k).version for k in keys]
    assert first == [reg.resolve("t", "answer", sticky=k).version for k in keys]  # sticky
    share = 100 * first.count(v2.version) / len(keys)
    assert abs(share - percent) < 4.5, (share, percent)  # 2000 draws: the sd of a 50 % share is 1.1 points
    reg.close()


def test_bucket_depends_on_tenant_and_label() -> None:
    a = [ab_bucket("acme", "answer", "production", str(i)) for i in range(50)]
    assert a != [ab_bucket("other", "answer", "production", str(i)) for i in range(50)]
    assert all(0 <= x < 100 for x in a)
