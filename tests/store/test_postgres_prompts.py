"""The prompt registry in PostgreSQL: the same contract as SQLite, on the real server of ``conftest.py``."""

from __future__ import annotations

from ragwright.testing.prompt_contract import check_prompt_store


def test_postgres_store_passes_the_contract(fresh_postgres_dsn: str) -> None:
    from ragwright.prompts.postgres import PostgresPromptStore

    check_prompt_store(lambda: PostgresPromptStore(fresh_postgres_dsn))
