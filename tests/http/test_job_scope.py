"""``GET /v1/jobs/{id}`` keeps tag scopes apart: a job is readable only by keys whose tags cover the tags of the key
that created it (an unrestricted key's jobs only by unrestricted keys); anything else is the 404 of an unknown job."""

from __future__ import annotations

from tests.http.conftest import Server

NOTE = b"# Note\n\nThe heron nests by the mill.\n"


def test_a_job_from_another_tag_scope_reads_as_unknown(server: Server) -> None:
    public, internal, both, unrestricted = (
        server.key(tags=("public",)),
        server.key(tags=("internal",)),
        server.key(tags=("internal", "public")),
        server.key(),
    )
    public_job = server.upload(public, {"heron.md": NOTE})["id"]
    open_job = server.upload(unrestricted, {"mill.md": NOTE})["id"]
    other_tenant = server.key(tenant="other")

    def status(key: str, job_id: str) -> int:
        with server.client(key) as c:
            return c.get(f"/v1/jobs/{job_id}").status_code

    assert [status(k, public_job) for k in (public, both, unrestricted)] == [200, 200, 200]
    assert [status(k, public_job) for k in (internal, other_tenant)] == [404, 404]
    assert status(unrestricted, open_job) == 200
    assert [status(k, open_job) for k in (public, internal, both, other_tenant)] == [404, 404, 404, 404]
    with server.client(internal) as c:
        r = c.get(f"/v1/jobs/{public_job}")
        assert r.json() == {"error": {"type": "not_found", "message": f"no job '{public_job}'"}}
