"""End-to-end fixtures: a real ``sluice serve`` on a free port and Debian's Chromium driven by Playwright.

The server gets a temporary data dir and a small demo warehouse; the browser is ``/usr/bin/chromium``
(``make test`` installs it; no browser is ever downloaded). Every page records console errors and
uncaught exceptions, and a test fails on any it did not expect. Screenshots go to
``tests/e2e/screenshots/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import (
    APIResponse,
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from sluice.api.web import WEB_DIST

# The machine has two cores shared with everything else: wait for the page as a patient user would.
expect.set_options(timeout=20_000)

CHROMIUM = Path(os.environ.get("SLUICE_E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
VENV_BIN = Path(sys.executable).parent


@dataclass
class Server:
    """A running ``sluice serve``."""

    url: str
    data_dir: Path
    warehouse: Path
    log: Path


@dataclass
class BrowserErrors:
    """Console errors and page errors seen by one page; some may be declared expected."""

    seen: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)

    def expect(self, fragment: str) -> None:
        """Allow console errors containing ``fragment`` (e.g. a request the test makes fail on purpose)."""
        self.expected.append(fragment)

    def unexpected(self) -> list[str]:
        return [line for line in self.seen if not any(fragment in line for fragment in self.expected)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo warehouse (2,000 users) in a DuckDB file."""
    from sluice.demo.warehouse import build_demo_warehouse

    path = tmp_path_factory.mktemp("warehouse") / "demo.duckdb"
    build_demo_warehouse(users=2000, seed=42, path=path)
    return path


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, demo_warehouse: Path) -> Iterator[Server]:
    """``sluice serve`` on a free port with a fresh data dir, in demo mode."""
    if not (WEB_DIST / "index.html").exists():
        pytest.fail("the web app is not built: run `make web` (make test does) before the e2e tests")
    data_dir = tmp_path_factory.mktemp("sluice-data")
    port = _free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("SLUICE_")}
    env.update(SLUICE_DATA_DIR=str(data_dir), SLUICE_DEMO="true", SLUICE_LOG_LEVEL="warning")
    log = data_dir / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(VENV_BIN / "sluice"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=data_dir,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, process, log)
        httpx.get(f"{url}/api/v1/openapi.json", timeout=120).raise_for_status()  # built once, then cached
        _seed_demo_workspace(data_dir, demo_warehouse)
        yield Server(url=url, data_dir=data_dir, warehouse=demo_warehouse, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def _seed_demo_workspace(data_dir: Path, warehouse: Path) -> None:
    """The demo source and models in the default workspace, as the demo set-up makes them."""
    from sqlalchemy import select

    from sluice.core.settings import Settings
    from sluice.demo.models import seed_demo_models
    from sluice.store.db import Database
    from sluice.store.tables.workspaces import DEFAULT_WORKSPACE_SLUG, Workspace

    database = Database.from_settings(Settings(data_dir=data_dir))
    try:
        with database.session() as session:
            workspace_id = session.scalar(
                select(Workspace.id).where(Workspace.slug == DEFAULT_WORKSPACE_SLUG)
            )
        assert workspace_id is not None, "the server did not create the default workspace"
        seed_demo_models(database, workspace_id, warehouse)
    finally:
        database.dispose()


STARTUP_SECONDS = 180  # migrations on a busy two-core machine can take a while


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"sluice serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"sluice serve did not answer within {STARTUP_SECONDS} s:\n{log.read_text()[-3000:]}")


@dataclass
class Emulators:
    """The vendor emulators (``sluice destination emulate``) and the config that reaches each."""

    url: str
    configs: dict[str, dict[str, object]]


@pytest.fixture(scope="session")
def emulators(tmp_path_factory: pytest.TempPathFactory, demo_warehouse: Path) -> Iterator[Emulators]:
    """Mailchimp's emulator on a free port, with most demo users as existing contacts."""
    log = tmp_path_factory.mktemp("emulators") / "emulators.log"
    yield from _serve_emulator("mailchimp", log, "--seed-warehouse", str(demo_warehouse))


@pytest.fixture(scope="session")
def pinterest_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulators]:
    """Pinterest's emulator (an OAuth vendor: its consent page approves at once) on a free port."""
    yield from _serve_emulator("pinterest", tmp_path_factory.mktemp("pinterest") / "emulator.log")


def _serve_emulator(name: str, log: Path, *options: str) -> Iterator[Emulators]:
    """``sluice destination emulate NAME`` on a free port until the session ends."""
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("SLUICE_")}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(VENV_BIN / "sluice"), "destination", "emulate", name, "--port", str(port), *options],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"the emulators exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                index = httpx.get(f"{url}/emulators", timeout=2)
                if index.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"the emulators did not answer within {STARTUP_SECONDS} s:\n{log.read_text()[-3000:]}"
                )
            time.sleep(0.2)
        configs = {served: entry["config"] for served, entry in index.json().items()}
        yield Emulators(url=url, configs=configs)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[Playwright]:
    """Module-scoped: Playwright's sync API leaves its event loop marked running on this thread
    until it stops, which would break every later asyncio test that the same xdist worker runs."""
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make e2e-deps` installs Debian's chromium")
    browser = playwright_instance.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def browser_errors() -> BrowserErrors:
    return BrowserErrors()


@pytest.fixture
def anonymous_page(
    browser: Browser, server: Server, browser_errors: BrowserErrors, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """A fresh browser context at 1280x800, not signed in; fails the test on unexpected console errors."""
    yield from _page(browser, server, browser_errors, request.node.name, sign_in=False)


@pytest.fixture
def page(
    browser: Browser, server: Server, browser_errors: BrowserErrors, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """Like :func:`anonymous_page`, signed in as the demo owner (the cookie the demo sign-in sets)."""
    yield from _page(browser, server, browser_errors, request.node.name, sign_in=True)


def _page(
    browser: Browser, server: Server, browser_errors: BrowserErrors, test_name: str, *, sign_in: bool
) -> Iterator[Page]:
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(30_000)
    if sign_in:
        response = context.request.post(f"{server.url}/api/v1/auth/demo-login")
        assert response.ok, response.text()
    page = context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "") if message.location else ""
            browser_errors.seen.append(f"console: {message.text} ({where})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: browser_errors.seen.append(f"page error: {error}"))
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"last-{test_name}.png"), full_page=True)  # what the test saw last
    context.close()
    unexpected = browser_errors.unexpected()
    assert not unexpected, "the browser reported errors:\n" + "\n".join(unexpected)


class Api:
    """The REST API as the signed-in browser user (its cookies, plus the CSRF header on writes)."""

    def __init__(self, page: Page, server: Server) -> None:
        self.page = page
        self.base = f"{server.url}/api/v1"

    def _csrf(self) -> dict[str, str]:
        cookies = {cookie["name"]: cookie["value"] for cookie in self.page.context.cookies()}
        return {"X-CSRF-Token": cookies.get("sluice_csrf", "")}

    def get(self, path: str) -> APIResponse:
        return self.page.context.request.get(self.base + path)

    def post(self, path: str, body: object | None = None) -> APIResponse:
        return self.page.context.request.post(self.base + path, data=body, headers=self._csrf())

    def patch(self, path: str, body: object) -> APIResponse:
        return self.page.context.request.patch(self.base + path, data=body, headers=self._csrf())

    def delete(self, path: str) -> APIResponse:
        return self.page.context.request.delete(self.base + path, headers=self._csrf())


@pytest.fixture
def api(page: Page, server: Server) -> Api:
    """API calls made as the signed-in user of ``page`` (to set up state a test is not about)."""
    return Api(page, server)


class Screenshots:
    """Saves screenshots as ``tests/e2e/screenshots/<name>.png``."""

    def __call__(self, page: Page, name: str, *, full_page: bool = True) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.wait_for_load_state("networkidle")
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        return path


@pytest.fixture(scope="session")
def shoot() -> Screenshots:
    return Screenshots()
