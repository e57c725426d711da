"""Gateway overhead: what `ragwright gateway serve` adds over calling an OpenAI-compatible upstream directly, measured
in one run beside the LiteLLM proxy (default settings, one worker).

    python bench/gateway_overhead.py --out bench/results/gateway-overhead.json

Three paths to the same upstream, each in its own process:

- ``direct``: the load generator talks to the upstream itself;
- ``ragwright``: ``ragwright gateway serve`` with every policy on except the cache (timeout, retry with its budget,
  circuit breaker, rate limits per key/tenant/model, a USD budget, the usage ledger), a chain of one
  openai-compatible provider pointing at the upstream;
- ``litellm``: ``litellm --config ... --num_workers 1`` from its own venv (``bench/.litellm-venv``, never a project
  dependency: ``python3 -m venv bench/.litellm-venv && bench/.litellm-venv/bin/pip install 'litellm[proxy]'``).

The upstream is a raw asyncio HTTP/1.1 server answering a fixed chat completion after a configurable delay (one
instance with no delay, one with 20 ms). Load comes from separate processes: ``wrk`` (Debian's, with a Lua script for
the POST) for the closed-loop scenarios and an open-loop generator (this file, ``loadgen`` mode) for the fixed rate,
which measures latency from each request's *scheduled* send time so a stall cannot hide itself.

Scenarios: ``sequential`` (1 connection, instant upstream), ``steady`` (200 req/s for 30 s, 20 ms upstream),
``saturation`` (50 connections, instant upstream). Needs: ``apt-get install wrk``.

``transports`` mode compares the proxy's client transports over loopback HTTP and HTTPS (bench/gateway_transports.py):

    python bench/gateway_overhead.py --out bench/results/gateway-transports.json transports
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LITELLM_BIN = ROOT / "bench" / ".litellm-venv" / "bin" / "litellm"
RAGWRIGHT_BIN = ROOT / ".venv" / "bin" / "ragwright"
PY = sys.executable

REPLY = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 1_790_000_000,
    "model": "bench-upstream",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Paris is the capital of France."},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ],
    "usage": {"prompt_tokens": 24, "completion_tokens": 7, "total_tokens": 31},
}
REQUEST = {
    "messages": [
        {"role": "system", "content": "Answer in one sentence."},
        {"role": "user", "content": "What is the capital of France?"},
    ],
    "max_tokens": 32,
    "temperature": 0,
}
API_KEY = "sk-bench-not-a-secret"


# --- the upstream: a minimal OpenAI-compatible server on raw asyncio ----------------------------------------------


class _Upstream(asyncio.Protocol):
    def __init__(self, delay: float, reply: bytes, models: bytes) -> None:
        self.delay = delay
        self.reply = reply
        self.models = models
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end]).lower()
            length = 0
            at = head.find(b"content-length:")
            if at >= 0:
                stop = head.find(b"\r\n", at)
                length = int(head[at + 15 : stop if stop >= 0 else None])
            total = end + 4 + length
            if len(self.buf) < total:
                return
            del self.buf[:total]
            resp = self.models if head.startswith(b"get ") else self.reply
            if self.delay:
                asyncio.get_running_loop().call_later(self.delay, self._send, resp)
            else:
                self._send(resp)

    def _send(self, resp: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(resp)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


def _http_response(body: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


def run_upstream(port: int, delay_ms: float, tls: tuple[str, str] | None = None) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    reply = _http_response(json.dumps(REPLY).encode())
    models = _http_response(b'{"object":"list","data":[{"id":"bench","object":"model","created":0,"owned_by":"x"}]}')

    async def main() -> None:
        loop = asyncio.get_running_loop()
        ctx = None
        if tls is not None:  # HTTPS with a certificate from `trustme` (the `transports` mode makes one)
            import ssl

            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(*tls)
        server = await loop.create_server(
            lambda: _Upstream(delay_ms / 1000.0, reply, models), "127.0.0.1", port, backlog=1024, ssl=ctx
        )
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# --- open-loop load generator -------------------------------------------------------------------------------------


async def _open_loop(
    host: str, port: int, path: str, body: bytes, rate: float, duration: float, timeout: float, key: str
) -> dict[str, Any]:
    clock = time.perf_counter  # not loop.time(): uvloop's clock has millisecond resolution
    head = (
        f"POST {path} HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\n"
        f"authorization: Bearer {key}\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode()
    request = head + body
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    latencies: list[float] = []
    errors = {"status": 0, "timeout": 0, "socket": 0, "stale_reconnects": 0}

    async def exchange(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> bytes:
        conn[1].write(request)
        return await conn[0].readuntil(b"\r\n\r\n")

    async def one(scheduled: float) -> None:
        writer: asyncio.StreamWriter | None = None
        try:
            async with asyncio.timeout(timeout):  # connecting included: a full accept queue must count, not hang
                reused = bool(idle)
                conn = idle.pop() if reused else await asyncio.open_connection(host, port)
                reader, writer = conn
                try:
                    header = await exchange(conn)
                except (asyncio.IncompleteReadError, ConnectionError):
                    if not reused:
                        raise
                    # the server closed this idle keep-alive connection (uvicorn does after 5 s): like any HTTP
                    # client, send again once on a fresh connection
                    writer.close()
                    errors["stale_reconnects"] += 1
                    conn = await asyncio.open_connection(host, port)
                    reader, writer = conn
                    header = await exchange(conn)
                status = int(header[9:12])
                lower = header.lower()
                at = lower.find(b"content-length:")
                length = int(lower[at + 15 : lower.find(b"\r\n", at)]) if at >= 0 else 0
                await reader.readexactly(length)
            latencies.append((clock() - scheduled) * 1000.0)
            if status != 200:
                errors["status"] += 1
            idle.append(conn)
        except TimeoutError:
            errors["timeout"] += 1
            if writer is not None:
                writer.close()
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors["socket"] += 1
            if writer is not None:
                writer.close()

    n = int(rate * duration)
    start = clock() + 0.05
    tasks = []
    for i in range(n):
        scheduled = start + i / rate
        delay = scheduled - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled)))
    await asyncio.gather(*tasks)
    elapsed = clock() - start
    for _, writer in idle:
        writer.close()
    latencies.sort()
    return {
        "requests": n,
        "completed": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": _pct(latencies, 50),
        "p90_ms": _pct(latencies, 90),
        "p99_ms": _pct(latencies, 99),
        "max_ms": round(latencies[-1], 3) if latencies else None,
        "errors": errors["status"] + errors["timeout"] + errors["socket"],
        "error_kinds": errors,
        "offered_rps": rate,
    }


def _pct(sorted_ms: list[float], p: float) -> float | None:
    if not sorted_ms:
        return None
    k = min(len(sorted_ms) - 1, max(0, round(p / 100 * len(sorted_ms) + 0.5) - 1))
    return round(sorted_ms[k], 3)


def run_loadgen(url: str, body: str, rate: float, duration: float, timeout: float, key: str) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    m = re.match(r"http://([^:/]+):(\d+)(/.*)", url)
    if not m:
        raise SystemExit(f"bad url {url}")
    result = asyncio.run(
        _open_loop(m.group(1), int(m.group(2)), m.group(3), body.encode(), rate, duration, timeout, key)
    )
    print(json.dumps(result))


# --- wrk (closed loop) --------------------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError(f"cannot read wrk latency {text!r}")
    return round(float(m.group(1)) * _UNITS[m.group(2)], 3)


def wrk(url: str, lua: Path, connections: int, seconds: int, threads: int = 1) -> dict[str, Any]:
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "10s",
            "-s",
            str(lua),
            url,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    ).stdout
    pct = {int(p): _ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", out, re.M)}
    total = re.search(r"(\d+) requests in", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = (sum(int(x) for x in sock.groups()) if sock else 0) + (int(non2xx.group(1)) if non2xx else 0)
    if 50 not in pct or 99 not in pct or not rps:
        raise RuntimeError(f"wrk output not understood:\n{out}")
    return {
        "p50_ms": pct[50],
        "p90_ms": pct.get(90),
        "p99_ms": pct[99],
        "rps": round(float(rps.group(1)), 1),
        "requests": int(total.group(1)) if total else None,
        "errors": errors,
    }


def write_lua(path: Path, body: str, key: str) -> Path:
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {key}"\n',
        encoding="utf-8",
    )
    return path


# --- processes ----------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, body: bytes, seconds: float = 120.0, key: str = API_KEY) -> None:
    deadline = time.monotonic() + seconds
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            req = urllib.request.Request(
                url, data=body, headers={"content-type": "application/json", "authorization": f"Bearer {key}"}
            )
            with urllib.request.urlopen(req, timeout=5) as resp:
                if resp.status == 200:
                    return
        except Exception as exc:  # noqa: BLE001 - not up yet
            last = exc
        time.sleep(0.25)
    raise RuntimeError(f"{url} not ready after {seconds}s: {last}")


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU of a process and its children so far (from /proc): contention on a shared machine
    stretches latencies, but not the CPU a request costs."""
    if pid is None:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    try:
        kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        for p in [pid, *(int(k) for k in kids)]:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
    except OSError:
        return None
    return total


def measured(pid: int | None, url: str, lua: Path, connections: int, seconds: int) -> dict[str, Any]:
    """One wrk measurement, with the gateway's CPU per request when its pid is known."""
    before = cpu_seconds(pid)
    result = wrk(url, lua, connections, seconds)
    after = cpu_seconds(pid)
    if before is not None and after is not None and result.get("requests"):
        result["proxy_cpu_us_per_request"] = round((after - before) / result["requests"] * 1e6, 1)
    return result


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process and its children (LiteLLM's CLI forks its server)."""
    total = 0
    pids = [pid]
    try:
        kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        pids += [int(k) for k in kids]
        for p in pids:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    except OSError:
        return None
    return round(total / 1024, 1)


def start(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env, start_new_session=True)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def ragwright_config(tmp: Path, instant: int, slow: int) -> Path:
    (tmp / "prices.toml").write_text(
        '["bench:instant"]\ninput = 0.15\noutput = 0.6\ncontext_window = 128000\n'
        '["benchslow:slow"]\ninput = 0.15\noutput = 0.6\ncontext_window = 128000\n'
    )
    cfg = tmp / "ragwright.toml"
    cfg.write_text(
        f"""data_dir = "{tmp / "data"}"
[gateway]
chain = ["bench:instant"]
prices_file = "{tmp / "prices.toml"}"
ledger = true
[gateway.aliases]
instant = ["bench:instant"]
slow = ["benchslow:slow"]
[gateway.providers.bench]
kind = "openai"
base_url = "http://127.0.0.1:{instant}/v1"
[gateway.providers.benchslow]
kind = "openai"
base_url = "http://127.0.0.1:{slow}/v1"
[gateway.cache]
exact = false
semantic = false
[gateway.rate_limit]
per_key_rpm = 100000000
per_key_tpm = 100000000000
per_tenant_rpm = 100000000
per_tenant_tpm = 100000000000
per_model_rpm = 100000000
per_model_tpm = 100000000000
[gateway.budget]
tenant_usd = 1000000000.0
key_usd = 1000000000.0
period = "day"
""",
        encoding="utf-8",
    )
    return cfg


def litellm_config(tmp: Path, instant: int, slow: int) -> Path:
    cfg = tmp / "litellm.yaml"
    cfg.write_text(
        f"""model_list:
  - model_name: instant
    litellm_params:
      model: openai/instant
      api_base: http://127.0.0.1:{instant}/v1
      api_key: {API_KEY}
  - model_name: slow
    litellm_params:
      model: openai/slow
      api_base: http://127.0.0.1:{slow}/v1
      api_key: {API_KEY}
general_settings:
  master_key: {API_KEY}
""",
        encoding="utf-8",
    )
    return cfg


# --- the run ------------------------------------------------------------------------------------------------------


def targets(s: dict[str, Any]) -> dict[str, Any]:
    rw = {k: s[k].get("ragwright", {}) for k in s}
    lite = s["saturation"].get("litellm", {})
    checks = {
        "sequential_added_p50_le_1ms": rw["sequential"].get("added_p50_ms", 1e9) <= 1.0,
        "sequential_added_p99_le_5ms": rw["sequential"].get("added_p99_ms", 1e9) <= 5.0,
        "steady_added_p50_le_2ms": rw["steady"].get("added_p50_ms", 1e9) <= 2.0,
        "steady_added_p99_le_10ms": rw["steady"].get("added_p99_ms", 1e9) <= 10.0,
        "steady_zero_errors": rw["steady"].get("errors", 1) == 0,
        "saturation_ge_1500_rps": rw["saturation"].get("rps", 0) >= 1500,
        "saturation_zero_errors": rw["saturation"].get("errors", 1) == 0,
    }
    if lite.get("rps"):
        checks["saturation_gt_15x_litellm"] = rw["saturation"].get("rps", 0) > 15 * lite["rps"]
    return checks


def main_run(args: argparse.Namespace) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    load_start = round(os.getloadavg()[0], 2)
    tmp = Path(tempfile.mkdtemp(prefix="rw-gw-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    notes: list[str] = []
    rss: dict[str, dict[str, float | None]] = {}
    try:
        instant, slow = free_port(), free_port()
        procs.append(start([PY, __file__, "upstream", "--port", str(instant), "--delay-ms", "0"], tmp / "up0.log"))
        procs.append(
            start([PY, __file__, "upstream", "--port", str(slow), "--delay-ms", str(args.delay_ms)], tmp / "up20.log")
        )
        body = json.dumps({"model": "instant", **REQUEST}).encode()
        wait_ready(f"http://127.0.0.1:{instant}/v1/chat/completions", body)
        wait_ready(f"http://127.0.0.1:{slow}/v1/chat/completions", body)
        paths = {"direct": f"http://127.0.0.1:{instant}/v1"}
        keys = {"direct": API_KEY, "litellm": API_KEY}
        gateways: dict[str, subprocess.Popen[bytes]] = {}
        if "ragwright" in args.paths:
            port = free_port()
            cfg = ragwright_config(tmp, instant, slow)
            env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}
            made = subprocess.run(
                [
                    str(RAGWRIGHT_BIN),
                    "keys",
                    "create",
                    "--tenant",
                    "bench",
                    "--name",
                    "bench",
                    "--config",
                    str(cfg),
                    "--json",
                ],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            )
            keys["ragwright"] = json.loads(made.stdout)["key"]
            gateways["ragwright"] = start(
                [str(RAGWRIGHT_BIN), "gateway", "serve", "--config", str(cfg), "--port", str(port), "--require-key"],
                tmp / "ragwright.log",
                env=env,
            )
            paths["ragwright"] = f"http://127.0.0.1:{port}/v1"
        if "litellm" in args.paths:
            if LITELLM_BIN.exists():
                port = free_port()
                env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}  # offline: no price-map download
                gateways["litellm"] = start(
                    [
                        str(LITELLM_BIN),
                        "--config",
                        str(litellm_config(tmp, instant, slow)),
                        "--port",
                        str(port),
                        "--host",
                        "127.0.0.1",
                        "--num_workers",
                        "1",
                    ],
                    tmp / "litellm.log",
                    env=env,
                )
                paths["litellm"] = f"http://127.0.0.1:{port}/v1"
            else:
                notes.append(f"LiteLLM not measured: {LITELLM_BIN} missing (see the module docstring to install it)")
        procs.extend(gateways.values())
        for name, proc in gateways.items():
            try:
                wait_ready(f"{paths[name]}/chat/completions", body, 180, keys[name])
            except RuntimeError as exc:
                tail = (tmp / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} did not start: {exc}\n{tail}") from None
            rss[name] = {"before_mb": rss_mb(proc.pid)}
        pids = {name: proc.pid for name, proc in gateways.items()}
        results = measure_all(paths, keys, slow, args, tmp, log, pids)
        for name, proc in gateways.items():
            rss[name]["after_mb"] = rss_mb(proc.pid)
    finally:
        for proc in reversed(procs):
            stop(proc)
    doc = {
        "benchmark": "gateway_overhead",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "loadavg_1m_at_start": load_start,
            "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
            "nice": os.nice(0),
        },
        "setup": {
            "upstream": "raw asyncio HTTP/1.1 (uvloop), fixed chat completion",
            "delay_ms_steady": args.delay_ms,
            "load": "wrk -t1 --latency (closed loop); open-loop generator for steady",
            "seconds": args.seconds,
            "steady_seconds": args.steady_seconds,
            "rate": args.rate,
            "connections": args.connections,
            "ragwright_policies": "timeout, retry (+budget), circuit breaker, rate limits (key/tenant/model "
            "rpm+tpm), USD budget (tenant+key), usage ledger; cache off; chain of one",
            "auth": "both gateways check a bearer key (ragwright: --require-key, key store cached in memory; "
            "LiteLLM: master_key, which it refuses to start without)",
            "litellm": "litellm[proxy] default settings, --num_workers 1",
        },
        "scenarios": results,
        "rss": rss,
        "targets_met": targets(results),
        "notes": notes,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(doc, indent=2))


def measure_all(
    paths: dict[str, str],
    keys: dict[str, str],
    slow_port: int,
    args: argparse.Namespace,
    tmp: Path,
    log: Any,
    pids: dict[str, int],
) -> dict[str, Any]:
    """All three scenarios; ``direct`` in the steady one goes to the 20 ms upstream, the gateways ask for model
    'slow', which they route there."""
    steady_paths = dict(paths)
    steady_paths["direct"] = f"http://127.0.0.1:{slow_port}/v1"
    closed = measure_closed(paths, keys, args, tmp, log, pids)
    steady = measure_steady(steady_paths, keys, args, log)
    results = {"sequential": closed["sequential"], "steady": steady, "saturation": closed["saturation"]}
    for figures in results.values():
        direct = figures.get("direct")
        for name, f in figures.items():
            if name != "direct" and direct and f.get("p50_ms") is not None:
                f["added_p50_ms"] = round(f["p50_ms"] - direct["p50_ms"], 3)
                f["added_p99_ms"] = round(f["p99_ms"] - direct["p99_ms"], 3)
    return results


def measure_closed(
    paths: dict[str, str], keys: dict[str, str], args: argparse.Namespace, tmp: Path, log: Any, pids: dict[str, int]
) -> dict[str, Any]:
    body = json.dumps({"model": "instant", **REQUEST})
    lua = {name: write_lua(tmp / f"{name}.lua", body, keys[name]) for name in paths}
    out: dict[str, dict[str, Any]] = {"sequential": {}, "saturation": {}}
    for name, base in paths.items():
        url = f"{base}/chat/completions"
        try:  # warm-up: connections, lazy imports, caches
            wrk(url, lua[name], 4, 3)
        except RuntimeError:
            log(f"warm-up of {name} returned no latencies (too slow to start?)")
        log(f"sequential  {name}")
        out["sequential"][name] = measured(pids.get(name), url, lua[name], 1, args.seconds)
    for name, base in paths.items():
        log(f"saturation  {name}")
        out["saturation"][name] = measured(
            pids.get(name), f"{base}/chat/completions", lua[name], args.connections, args.seconds
        )
    return out


def measure_steady(paths: dict[str, str], keys: dict[str, str], args: argparse.Namespace, log: Any) -> dict[str, Any]:
    body = json.dumps({"model": "slow", **REQUEST})
    out: dict[str, Any] = {}
    for name, base in paths.items():
        log(f"steady      {name} ({args.rate:g} req/s for {args.steady_seconds}s)")
        try:
            proc = subprocess.run(
                [
                    PY,
                    __file__,
                    "loadgen",
                    "--url",
                    f"{base}/chat/completions",
                    "--body",
                    body,
                    "--rate",
                    str(args.rate),
                    "--duration",
                    str(args.steady_seconds),
                    "--key",
                    keys[name],
                ],
                capture_output=True,
                text=True,
                timeout=args.steady_seconds + 60,
            )
        except subprocess.TimeoutExpired:
            out[name] = {
                "p50_ms": None,
                "p99_ms": None,
                "rps": None,
                "errors": None,
                "failed": "the load generator did not finish within duration + 60 s",
            }
            continue
        if proc.returncode != 0:
            raise RuntimeError(f"loadgen failed: {proc.stderr}")
        out[name] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def markdown_table(doc: dict[str, Any]) -> str:
    """The results as the Markdown table the docs show."""
    rows = [
        "| scenario | path | p50 ms | p99 ms | added p50 ms | added p99 ms | req/s | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]

    def fmt(v: Any) -> str:
        return "–" if v is None else (f"{v:,.0f}" if isinstance(v, float) and abs(v) >= 1000 else f"{v:g}")

    setup = doc["setup"]
    labels = {
        "sequential": "sequential (1 conn, instant upstream)",
        "steady": f"steady ({setup['rate']:g} req/s, {setup['delay_ms_steady']:g} ms upstream)",
        "saturation": f"saturation ({setup['connections']} conns, instant upstream)",
    }
    for scenario, label in labels.items():
        for path, f in doc["scenarios"][scenario].items():
            rows.append(
                f"| {label} | {path} | {fmt(f.get('p50_ms'))} | {fmt(f.get('p99_ms'))} | "
                f"{fmt(f.get('added_p50_ms'))} | {fmt(f.get('added_p99_ms'))} | {fmt(f.get('rps'))} | "
                f"{fmt(f.get('errors'))} |"
            )
    rss = ", ".join(f"{k} {v.get('before_mb')} -> {v.get('after_mb')} MB" for k, v in doc.get("rss", {}).items())
    m = doc["machine"]
    rows.append("")
    rows.append(
        f"Proxy RSS before -> after the run: {rss}. Machine: {m['cpus']} cores, 1-min load average "
        f"{m.get('loadavg_1m_at_start')} -> {m['loadavg_1m_at_end']}, nice {m.get('nice')}."
    )
    return "\n".join(rows)


def run_tracing(args: argparse.Namespace) -> None:
    """``gateway serve`` saturated (wrk, ``--connections``, instant upstream) with each tracing mode in turn,
    ``--rounds`` interleaved rounds: the ``≤ 5 % of proxy saturation throughput`` figure for ``local``."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from tracing_ab import interleave

    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    cli = [str(RAGWRIGHT_BIN)] if RAGWRIGHT_BIN.exists() else [PY, "-m", "ragwright"]
    tmp = Path(tempfile.mkdtemp(prefix="rw-gw-tracing-"))
    instant = free_port()
    upstream = start([PY, __file__, "upstream", "--port", str(instant), "--delay-ms", "0"], tmp / "up.log")
    try:
        body = json.dumps({"model": "instant", **REQUEST})
        wait_ready(f"http://127.0.0.1:{instant}/v1/chat/completions", body.encode())
        cfg = ragwright_config(tmp, instant, instant)
        base = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}
        made = subprocess.run([*cli, "keys", "create", "--tenant", "bench", "--config", str(cfg), "--json"],
                              capture_output=True, text=True, env=base, check=True)  # fmt: skip
        key = json.loads(made.stdout)["key"]
        lua = write_lua(tmp / "chat.lua", body, key)

        def one(mode: str) -> float:
            env = {**base, "RAGWRIGHT_OBSERVABILITY__TRACING": mode,
                   "RAGWRIGHT_OBSERVABILITY__OTLP_ENDPOINT": args.otlp_endpoint}  # fmt: skip
            port = free_port()
            proc = start([*cli, "gateway", "serve", "--config", str(cfg), "--port", str(port), "--require-key"],
                         tmp / f"gw-{mode}.log", env=env)  # fmt: skip
            try:
                url = f"http://127.0.0.1:{port}/v1/chat/completions"
                wait_ready(url, body.encode(), key=key)
                wrk(url, lua, args.connections, 2)  # warm-up
                return float(wrk(url, lua, args.connections, args.seconds)["rps"])
            finally:
                stop(proc)

        doc = interleave(args.compare.split(","), args.rounds, one, log)
    finally:
        stop(upstream)
        shutil.rmtree(tmp, ignore_errors=True)
    doc["config"] = {
        "scenario": f"saturation: {args.connections} connections, instant upstream, {args.seconds}s per run",
        "proxy": "ragwright gateway serve, every policy on but the cache (bench/gateway_overhead.py config)",
        "cpus": os.cpu_count(),
        "nice": os.nice(0),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(doc["summary"], indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode")
    up = sub.add_parser("upstream", help="run only the fake upstream")
    up.add_argument("--port", type=int, required=True)
    up.add_argument("--delay-ms", type=float, default=0.0)
    up.add_argument("--tls-cert", help="serve HTTPS with this certificate chain (PEM)")
    up.add_argument("--tls-key", help="... and this private key (PEM)")
    tr = sub.add_parser("transports", help="client transports side by side: own vs httpx-aiohttp vs httpx")
    tr.add_argument("--concurrency", type=int, default=50)
    tr.add_argument("--seconds", type=float, default=5.0)
    tr.add_argument("--rounds", type=int, default=3)
    tc = sub.add_parser("tracing", help="proxy saturation throughput with tracing off vs local/otlp, interleaved")
    tc.add_argument("--compare", default="off,local", help="comma list of [observability] tracing modes, off first")
    tc.add_argument("--rounds", type=int, default=5)
    tc.add_argument("--seconds", type=int, default=8)
    tc.add_argument("--connections", type=int, default=50)
    tc.add_argument("--otlp-endpoint", default="http://127.0.0.1:4318/v1/traces")
    lg = sub.add_parser("loadgen", help="run only the open-loop generator")
    lg.add_argument("--url", required=True)
    lg.add_argument("--body", required=True)
    lg.add_argument("--rate", type=float, required=True)
    lg.add_argument("--duration", type=float, required=True)
    lg.add_argument("--timeout", type=float, default=10.0)
    lg.add_argument("--key", default=API_KEY)
    tb = sub.add_parser("table", help="print a result file as a Markdown table")
    tb.add_argument("result", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "gateway-overhead.json")
    parser.add_argument("--paths", default="direct,ragwright,litellm", help="comma list: direct,ragwright,litellm")
    parser.add_argument("--seconds", type=int, default=10, help="length of each closed-loop measurement")
    parser.add_argument("--steady-seconds", type=int, default=30)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--delay-ms", type=float, default=20.0, help="upstream delay in the steady scenario")
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    if args.mode == "upstream":
        run_upstream(args.port, args.delay_ms, (args.tls_cert, args.tls_key) if args.tls_cert else None)
    elif args.mode == "transports":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from gateway_transports import run as run_transports

        doc = run_transports(args, free_port, REQUEST, PY, Path(__file__).resolve())
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(doc["summary"], indent=2))
    elif args.mode == "table":
        print(markdown_table(json.loads(args.result.read_text(encoding="utf-8"))))
    elif args.mode == "tracing":
        run_tracing(args)
    elif args.mode == "loadgen":
        run_loadgen(args.url, args.body, args.rate, args.duration, args.timeout, args.key)
    else:
        args.paths = args.paths.split(",")
        main_run(args)


if __name__ == "__main__":
    main()
