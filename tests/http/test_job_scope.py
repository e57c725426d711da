"""A job belongs to its tenant and to the tag scope of the key that created it: other scopes read it as missing."""

from __future__ import annotations

from tests.http.conftest import Server


def test_a_job_of_another_tag_scope_reads_as_missing(server: Server) -> None:
    internal = server.key(tags=("internal",))
    public = server.key(tags=("public",))
    everything = server.key(scopes=("read",))
    job = server.upload(internal, {"board.md": b"# Board\n\nThe board meets on Fridays.\n"})
    assert job["status"] == "succeeded"
    with server.client(public) as c:
        r = c.get(f"/v1/jobs/{job['id']}")
        assert r.status_code == 404 and r.json()["error"]["type"] == "not_found"
        assert "board" not in r.text
        assert r.json() == c.get("/v1/jobs/job_00000000000000000000").json() | {
            "error": r.json()["error"] | {"message": f"no job {job['id']}"}
        }
    with server.client(everything) as c:  # a key without a tag limit reads every job of its tenant
        assert c.get(f"/v1/jobs/{job['id']}").json()["files"] == ["board.md"]
    with server.client(internal) as c:
        assert c.get(f"/v1/jobs/{job['id']}").status_code == 200
