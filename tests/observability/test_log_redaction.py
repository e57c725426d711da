"""Every log line of a server is redacted, in both formats: a secret in an unhandled exception's text (an API key in a
provider URL, a configured key an upstream echoed) never reaches the log, neither ragwright's own line nor the
traceback uvicorn logs for the exception (``Exception in ASGI application``), with or without ``--log-format json``.

Checked on the real `ragwright serve` command, in a subprocess whose app has one extra route that raises such an
exception; and on the configuration `gateway serve` and `mcp --http` hand to uvicorn (the same function)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from ragwright.redact import REDACTED

KEY_SHAPED = "sk-proj-unhandledExceptionSecret0123456789"
CONFIGURED = "zq9-configured-provider-secret-42"  # shaped like nothing: redacted because it was resolved from config

# `ragwright serve ARGS`, through its real CLI, with a route that fails the way a buggy provider adapter might
SERVE_WITH_A_FAILING_ROUTE = """
import sys
import ragwright.interfaces.http.app as http_app
from ragwright.config import resolve_secret

build = http_app.create_app
SECRET = sys.argv[-1]

async def boom() -> None:
    key = resolve_secret("env:FAKE_PROVIDER_KEY")  # resolved as a provider's key is: remembered for redaction
    raise RuntimeError(f"POST https://llm.example/v1/chat?key={SECRET} failed: Bearer {SECRET}: provider refused {key}")

def create_app(*args, **kwargs):
    app = build(*args, **kwargs)
    app.add_api_route("/boom", boom)
    return app

http_app.create_app = create_app
from ragwright.interfaces.cli.app import main
sys.argv = ["ragwright", "serve", "--port", "0", *sys.argv[1:-1]]
main()
"""


@contextmanager
def _serve(tmp_path: Path, *args: str) -> Iterator[tuple[str, list[str]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}
    env.update(
        RAGWRIGHT_DATA_DIR=str(tmp_path / "idx"), RAGWRIGHT_EMBEDDING__MODEL="fake", FAKE_PROVIDER_KEY=CONFIGURED
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE_WITH_A_FAILING_ROUTE, *args, KEY_SHAPED],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    assert proc.stdout is not None
    drain = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)  # type: ignore[arg-type]
    drain.start()
    try:
        deadline = time.monotonic() + 60
        url = ""
        while not url:
            assert time.monotonic() < deadline and proc.poll() is None, "".join(lines)
            found = re.search(r"(http://127\.0\.0\.1:\d+)", "".join(lines))
            url = found.group(1) if found else ""
            time.sleep(0.05)
        yield url, lines
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
        drain.join(10)


def _wait_for(lines: list[str], text: str) -> str:
    deadline = time.monotonic() + 30
    while text not in "".join(lines):
        assert time.monotonic() < deadline, f"{text!r} never logged:\n{''.join(lines)}"
        time.sleep(0.05)
    return "".join(lines)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_serve_logs_an_unhandled_exception_redacted(tmp_path: Path, fmt: str) -> None:
    with _serve(tmp_path, "--log-format", fmt) as (url, lines):
        r = httpx.get(f"{url}/boom", timeout=30)
        assert r.status_code == 500 and "incident" in r.json()["error"]["message"]
        # uvicorn's own record, with the traceback: the last thing logged for the request
        out = _wait_for(lines, "Exception in ASGI application")
        _wait_for(lines, "RuntimeError")
    out = "".join(lines)
    assert KEY_SHAPED not in out and CONFIGURED not in out, out
    assert out.count(REDACTED) >= 4, out  # both secrets, in ragwright's line and in uvicorn's traceback
    assert "provider refused" in out and "unhandled error" in out


# what `gateway serve` and `mcp --http` hand to uvicorn (uvicorn's base), then what `mcp` over stdio configures (no
# base): a record of uvicorn's and one of a ragwright logger that existed before the configuration, as module loggers do
LOG_TWO_FAILURES = """
import logging, logging.config, sys
from ragwright.observability.logging import logging_config
from ragwright.redact import remember_secret

remember_secret(sys.argv[3])
early = logging.getLogger("ragwright.interfaces.mcp.server")
for base in (None, {"version": 1}):
    logging.config.dictConfig(logging_config(sys.argv[1], "warning", base=base))
    for logger in (logging.getLogger("uvicorn.error"), early):
        try:
            raise RuntimeError(f"upstream said: Incorrect API key provided: {sys.argv[2]} / {sys.argv[3]}")
        except RuntimeError:
            logger.exception("Exception in ASGI application")
"""


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_gateway_and_mcp_log_config_redacts_exceptions(fmt: str) -> None:
    """No record is lost (a logger made before the configuration still writes) and none carries a secret."""
    done = subprocess.run(
        [sys.executable, "-c", LOG_TWO_FAILURES, fmt, KEY_SHAPED, CONFIGURED],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    err = done.stderr
    assert err.count("Exception in ASGI application") == 4 and err.count("RuntimeError") >= 4, err
    assert KEY_SHAPED not in err and CONFIGURED not in err, err
    assert err.count(REDACTED) >= 8, err
