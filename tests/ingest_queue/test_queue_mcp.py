"""The MCP ``ingest`` tool with ``[queue] enabled`` puts the upload on the queue, as an HTTP upload does: a
``ragwright worker`` parses it, never the MCP server; with no worker to finish it before the call's deadline, the
tool answers ``queued`` with the job id, and the job runs once a worker starts. Driven by the official MCP client over
stdio against a real PostgreSQL."""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
import pytest
from mcp import Client, StdioServerParameters

from tests.ingest_queue.conftest import QueueWorld

pytestmark = pytest.mark.slow


@asynccontextmanager
async def _mcp(world: QueueWorld, request_timeout: float) -> AsyncIterator[Client]:
    env = {**world.workers.env, "RAGWRIGHT_SERVICE__REQUEST_TIMEOUT": str(request_timeout)}
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "ragwright", "mcp", "--tenant", "acme", "--scopes", "read,write"],
        env=env,
        cwd=str(world.workers.cwd),
    )
    async with Client(params, read_timeout_seconds=request_timeout + 30) as client:
        yield client


def _job_status(world: QueueWorld, job_id: str) -> str:
    with psycopg.connect(world.dsn) as conn:
        row = conn.execute("SELECT data::json->>'status' FROM jobs WHERE id = %s", (job_id,)).fetchone()
    return str(row[0]) if row else "unknown"


async def test_mcp_ingest_goes_on_the_queue_and_a_worker_ingests_it(world: QueueWorld) -> None:
    async with _mcp(world, request_timeout=5) as client:  # no worker yet: the job cannot end in time
        waiting = await client.call_tool("ingest", {"filename": "queued.md", "text": "# Q\n\nThe lid is cork oak."})
    assert not waiting.is_error, waiting.content
    queued = waiting.structured_content
    assert queued["status"] == "queued" and queued["doc_id"] == "queued.md", queued
    job_id = queued["job_id"]
    assert _job_status(world, job_id) == "queued"
    assert world.count("SELECT count(*) FROM procrastinate_jobs WHERE args->>'job_id' = %s", job_id) == 1
    assert world.count("SELECT count(*) FROM job_files WHERE job_id = %s", job_id) == 1  # the upload waits in PG

    worker = world.workers.start()
    async with _mcp(world, request_timeout=120) as client:
        added = await client.call_tool("ingest", {"filename": "now.md", "text": "# N\n\nDescale with citric acid."})
        assert not added.is_error, added.content
        assert added.structured_content["status"] == "added" and added.structured_content["chunks"] >= 1
        found = await client.call_tool("search", {"query": "descale citric acid", "k": 3})
        assert found.structured_content["results"][0]["citation"]["file"] == "now.md"
    ran_on = world.count("SELECT (data::json->'worker'->>0)::int FROM jobs WHERE data::json->'files'->>0 = 'now.md'")
    assert ran_on == worker.pid  # the worker process parsed it, not the MCP server

    deadline = time.monotonic() + 90  # the first job runs too, now that a worker is there
    while _job_status(world, job_id) != "succeeded" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _job_status(world, job_id) == "succeeded"
