"""``GET /v1/jobs`` and ``POST /v1/jobs/{id}/cancel`` without the queue (the embedded mode, on both backends): the
list is the tenant's jobs the key's tags cover, newest first; a waiting job is cancelled and never ingested; a job
that has ended answers 409, another tenant's 404, a read-only key 403. (With the queue: tests/ingest_queue.)"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.http.conftest import Server, both_backends

pytestmark = both_backends


def _wait(server: Server, key: str, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    with server.client(key) as c:
        while time.monotonic() < deadline:
            job: dict[str, Any] = c.get(f"/v1/jobs/{job_id}").json()
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return job
            time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


@pytest.mark.slow
def test_a_waiting_job_is_cancelled_and_jobs_are_listed_per_tenant_and_tags(server: Server) -> None:
    key = server.key()
    with server.client(key) as c:
        first = c.post("/v1/documents", files=[("files", ("a.md", b"# A\n\nThe first runbook."))]).json()
        # the worker process is still starting: the second job waits behind the first
        second = c.post("/v1/documents", files=[("files", ("b.md", b"# B\n\nThe second runbook."))]).json()
        r = c.post(f"/v1/jobs/{second['id']}/cancel")
        assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    assert _wait(server, key, first["id"])["status"] == "succeeded"
    assert _wait(server, key, second["id"])["status"] == "cancelled"
    with server.client(key) as c:
        assert c.post(f"/v1/jobs/{first['id']}/cancel").status_code == 409  # it has ended
        assert c.post(f"/v1/jobs/{second['id']}/cancel").status_code == 409
        assert [d["id"] for d in c.get("/v1/documents").json()["data"]] == ["a.md"]  # b.md was never ingested
        listed = c.get("/v1/jobs").json()["data"]
    assert [j["id"] for j in listed] == [second["id"], first["id"]]

    other_tenant, reader = server.key("globex"), server.key(scopes=("read",))
    with server.client(other_tenant) as c:
        assert c.get("/v1/jobs").json()["data"] == []
        assert c.post(f"/v1/jobs/{first['id']}/cancel").status_code == 404
    with server.client(reader) as c:
        assert c.post(f"/v1/jobs/{first['id']}/cancel").status_code == 403

    tagged = server.key(tags=("red",))
    job = server.upload(tagged, {"c.md": b"# C\n\nA red runbook."}, tags="red")
    with server.client(server.key(tags=("blue",))) as c:  # its scope does not cover the red key's job
        assert job["id"] not in [j["id"] for j in c.get("/v1/jobs").json()["data"]]
    with server.client(key) as c:
        assert job["id"] in [j["id"] for j in c.get("/v1/jobs", params={"limit": 5}).json()["data"]]
