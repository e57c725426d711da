"""Browser tests of the web UI: a real `ragwright serve` over the sample corpus, driven by Playwright in Chromium.

What a test gets (docs/ui.md, "Browser tests"):

- ``ui`` (session): a :class:`UiServer`, `ragwright serve` on a free loopback port over an index of
  ``examples/sample-docs`` built with the default local embedder (the index is built once for all xdist workers, each
  worker serves its own copy). ``ui.keys`` has ready keys of tenant ``default`` (``admin``, ``writer``: read+write,
  ``reader``: read); ``ui.new_key(...)`` and ``ui.revoke(key_id)`` change the key store the server reads.
- ``chromium`` (session): Debian's Chromium (``/usr/bin/chromium``) under Playwright's sync API, one per pytest
  process. Missing: skipped, but under ``CI=true`` the run fails.
- ``page`` (per test): a fresh context (no cookies) on ``ui.url``; every request to another host is blocked and fails
  the test (the UI must work air-gapped), as does an uncaught script error or a Content-Security-Policy violation.
  ``new_page()`` makes more such pages (two users at once; ``new_page(url)`` on another loopback server);
  ``browser`` is the raw Playwright ``Browser``, and ``with open_page(browser, url) as tab`` the guarded page of any
  loopback server (an in-process app served by ``tests.http.conftest.run_server``).
- helpers: :func:`login`, :func:`assert_accessible` (axe-core: 0 serious or critical violations, no rule disabled),
  :func:`screenshots` (375 and 1440 px wide, into the git-ignored ``ui-screenshots/``), :func:`page_weight` (gzip
  bytes of a page's HTML, CSS and JS, pdf.js excepted).
"""

from __future__ import annotations

import asyncio
import fcntl
import gzip
import os
import re
import shutil
import subprocess
import sys
from asyncio import events as asyncio_events
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from ragwright.service.keys import KeyStore, default_key_path
from tests.http.conftest import serve_process

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DOCS = ROOT / "examples" / "sample-docs"
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "ui-screenshots"
WIDTHS = (375, 1440)
TENANT = "default"  # the tenant `ragwright ingest` writes to without --tenant
PAGE_BUDGET = 300_000
"""Most gzip bytes of one page's HTML + CSS + JS (pdf.js excepted): issue 17's performance budget."""
UNBUDGETED = re.compile(r"/static/vendor/pdfjs/")
SERIOUS = ("serious", "critical")
ACTION_TIMEOUT_MS = 60_000
"""How long a Playwright action or ``wait_for`` waits for its element (Playwright's default: 30 s)."""
ASSERT_TIMEOUT_MS = 30_000
"""How long an ``expect(...)`` assertion waits for its condition (Playwright's default: 5 s)."""


@dataclass
class UiServer:
    """The live server of this pytest process: its URL, data directory and keys (raw keys by role)."""

    url: str
    data_dir: Path
    keys: dict[str, str] = field(default_factory=dict)
    key_ids: dict[str, str] = field(default_factory=dict)

    def new_key(self, scopes: tuple[str, ...] = ("read",), tags: tuple[str, ...] = (), name: str = "test") -> str:
        """A new raw key of tenant ``default`` (``key_id(raw)`` gives its id)."""
        with KeyStore(default_key_path(self.data_dir)) as store:
            raw, _ = store.create(TENANT, scopes=scopes, tags=tags, name=name)
        return raw

    def revoke(self, raw_or_id: str) -> None:
        """Revoke a key in the store the server reads (as ``ragwright keys revoke`` from another process would)."""
        with KeyStore(default_key_path(self.data_dir)) as store:
            assert store.revoke(key_id(raw_or_id))


def key_id(raw_or_id: str) -> str:
    """The public id of a raw key ``rw_<id>_<secret>`` (an id is returned as it is)."""
    return raw_or_id.split("_")[1] if raw_or_id.startswith("rw_") else raw_or_id


def _under_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample corpus indexed with the default embedder: built once per test run (a lock shared by the xdist
    workers; the first one builds, the others wait and reuse it)."""
    base = tmp_path_factory.getbasetemp()
    # under xdist every worker's basetemp is popen-gwN inside this run's own pytest-N directory: share that; a run
    # without xdist keeps it in its own basetemp (never reuse another run's index: it may come from other code)
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    built = shared / "ui-sample-index"
    with open(shared / "ui-sample-index.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (built / ".complete").exists():
            shutil.rmtree(built, ignore_errors=True)
            done = subprocess.run(
                # from the repository root with the relative path, as `make demo` does: the documents' ids are
                # examples/sample-docs/<file>, not the test machine's absolute path (they show in pages and screenshots)
                [
                    sys.executable,
                    "-m",
                    "ragwright",
                    "ingest",
                    str(SAMPLE_DOCS.relative_to(ROOT)),
                    "--data-dir",
                    str(built),
                    "--strict",
                ],
                env=_clean_env(),
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert done.returncode == 0, done.stderr[-3000:]
            (built / ".complete").touch()
    return built


@pytest.fixture(scope="session")
def ui(sample_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    """`ragwright serve` over this worker's copy of the sample index, with three keys (see the module)."""
    data_dir = tmp_path_factory.mktemp("ui-serve") / "data"
    shutil.copytree(sample_index, data_dir, ignore=shutil.ignore_patterns(".complete"))
    server = UiServer(url="", data_dir=data_dir)
    for role, scopes in (("admin", ("admin",)), ("writer", ("read", "write")), ("reader", ("read",))):
        raw = server.new_key(scopes, name=role)
        server.keys[role], server.key_ids[role] = raw, key_id(raw)
    env = {"RAGWRIGHT_SERVICE__RATE_LIMIT_RPM": "100000"}  # a browser test is many requests of one key
    with serve_process(data_dir, "--no-access-log", fake_embedder=False, env=env) as served:
        server.url = served.url
        yield server


@dataclass
class Chromium:
    """The browser of this pytest process and the event loop Playwright's sync API runs it on."""

    browser: Any
    loop: asyncio.AbstractEventLoop

    @contextmanager
    def active(self) -> Iterator[Any]:
        """Mark Playwright's loop as this thread's running loop while a browser test runs (see :func:`chromium`)."""
        previous = asyncio_events._get_running_loop()
        asyncio_events._set_running_loop(self.loop)
        try:
            yield self.browser
        finally:
            asyncio_events._set_running_loop(previous)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Chromium]:
    """Chromium under Playwright's sync API (one per pytest process). Skipped when missing, except under ``CI=true``.

    The sync API keeps its event loop marked as the thread's *running* loop between calls, which makes every
    ``asyncio.run`` (pytest-asyncio's tests, run by the same xdist worker) fail. So the mark is set only while a browser
    test runs (:meth:`Chromium.active`, from the ``page`` and ``new_page`` fixtures) and cleared in between.
    """
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (Debian package chromium; `make test` installs it)"
        if _under_ci():
            pytest.fail(reason + ": under CI=true the browser tests must run")
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    # Waits, not timings: a condition that holds returns at once, so a long bound costs nothing when the UI works and
    # spares a loaded 2-core machine (CI shares it with the suite's other worker) from failing a slow but correct page.
    expect.set_options(timeout=ASSERT_TIMEOUT_MS)
    playwright = sync_playwright().start()
    loop = asyncio_events._get_running_loop()
    assert loop is not None
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--disable-gpu"])
    except BaseException:
        playwright.stop()
        raise
    asyncio_events._set_running_loop(None)
    try:
        yield Chromium(browser, loop)
    finally:
        asyncio_events._set_running_loop(loop)
        browser.close()
        playwright.stop()  # ends the loop's run: the running mark is cleared by asyncio itself


@pytest.fixture
def browser(chromium: Chromium) -> Iterator[Any]:
    """The Playwright ``Browser`` for one test (prefer ``page`` or ``new_page``: they add the checks)."""
    with chromium.active() as active:
        yield active


@contextmanager
def open_page(browser: Any, base_url: str) -> Iterator[Any]:
    """A fresh page in its own context (own cookies) on ``base_url`` (any loopback server: ``ui.url``, or an
    in-process app from ``tests.http.conftest.run_server``), with the guards: a request to another host, an uncaught
    script error or a Content-Security-Policy violation fails the test when the page is closed. Use it inside a test
    that requests ``browser`` (or ``page``/``new_page``)."""
    problems: list[str] = []
    context = browser.new_context(base_url=base_url, viewport={"width": 1440, "height": 900})
    try:
        yield _watched(context, problems)
    finally:
        context.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def new_page(browser: Any, ui: UiServer) -> Iterator[Callable[..., Any]]:
    """A factory of fresh guarded pages (:func:`open_page`), each with its own cookies: ``new_page()`` on ``ui.url``,
    ``new_page(base_url)`` on another loopback server. For tests that need two users at once."""
    with ExitStack() as stack:
        yield lambda base_url=None: stack.enter_context(open_page(browser, base_url or ui.url))


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    """A fresh page (own cookies) on the server. Off-host requests, script errors and CSP violations fail the test."""
    return new_page()


LOCAL = re.compile(r"^(https?|wss?)://127\.0\.0\.1(:\d+)?/")


def _watched(context: Any, problems: list[str]) -> Any:
    context.set_default_timeout(ACTION_TIMEOUT_MS)

    def block(route: Any) -> None:
        problems.append(f"request to another host: {route.request.url}")
        route.abort()

    context.route(lambda url: not LOCAL.match(url) and not url.startswith(("data:", "blob:")), block)
    tab = context.new_page()
    tab.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    tab.on(
        "console",
        lambda msg: (
            problems.append(f"CSP: {msg.text}")
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    return tab


def login(page: Any, raw_key: str, next_path: str = "/") -> None:
    """Log in through the login form and wait for the page it leads to."""
    page.goto(f"/login?next={quote(next_path, safe='')}")
    page.get_by_label("API key").fill(raw_key)
    with page.expect_navigation():  # the form's POST answers with the next page (or the login page again)
        page.get_by_role("button", name="Log in").click()


def assert_accessible(page: Any, what: str = "") -> None:
    """axe-core on the page as it is now, in the light and the dark colour scheme: no serious or critical
    violation, every rule on (contrast differs between the schemes, so both are checked)."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    failures = []
    try:
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            bad = [v for v in axe.run(page).response["violations"] if v.get("impact") in SERIOUS]
            failures += [
                f"[{scheme}] {v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:5]}"
                for v in bad
            ]
    finally:
        page.emulate_media(color_scheme="light")
    report = "\n".join(failures)
    assert not failures, f"axe found {len(failures)} serious/critical violation(s) on {what or page.url}:\n{report}"


def screenshots(page: Any, name: str, *, full_page: bool = True) -> list[Path]:
    """``ui-screenshots/<name>-375.png`` and ``-1440.png`` of the page as it is now (git-ignored; docs/ui.md says how
    the README's committed set is refreshed). The viewport is put back to 1440 px afterwards."""
    SCREENSHOTS.mkdir(exist_ok=True)
    paths = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        path = SCREENSHOTS / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=full_page)
        paths.append(path)
    page.set_viewport_size({"width": 1440, "height": 900})
    return paths


@dataclass(frozen=True)
class PageWeight:
    """The gzip-compressed bytes a page loaded, by URL (HTML, CSS, JS; pdf.js not counted)."""

    files: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.files.values())


def page_weight(page: Any, path: str) -> PageWeight:
    """Open ``path`` and add up the gzip size (level 6, what a compressing proxy sends) of every document, stylesheet
    and script the page loaded, pdf.js excepted."""
    bodies: dict[str, bytes] = {}

    def seen(response: Any) -> None:
        if response.request.resource_type in ("document", "stylesheet", "script") and not UNBUDGETED.search(
            response.url
        ):
            try:
                bodies[response.url] = response.body()
            except Exception:  # noqa: BLE001 - a redirect has no body
                pass

    page.on("response", seen)
    try:
        page.goto(path)
        page.wait_for_load_state("networkidle")
    finally:
        page.remove_listener("response", seen)
    return PageWeight({url: len(gzip.compress(body, compresslevel=6)) for url, body in bodies.items()})
