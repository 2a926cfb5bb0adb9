"""Browser tests: a real uvicorn server on a temporary SQLite database, driven by Chromium.

Any console error or uncaught page error fails the test: a broken script or a CSP
violation is a bug the user would hit. Chromium must be installed (``make chromium``);
without it these tests fail rather than skip.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    ViewportSize,
    sync_playwright,
)

from liveshop.core import migrate
from liveshop.core.db import Database
from liveshop.integrations.shopify.fake import DEFAULT_SECRET as SHOPIFY_SECRET
from liveshop.live.socket_writes import PROTOCOL_PATH
from liveshop.schema import metadata
from tests.processes import SERVING_SECRET_KEY, wait_until_answering

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
CONTEXTS = pytest.StashKey[list[BrowserContext]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    if report.when == "call" and report.failed:
        _record_failure(item, report)
    return report


def _record_failure(item: pytest.Item, report: pytest.TestReport) -> None:
    """Add where each browser was and what the server logged to the failure report."""
    ARTIFACTS.mkdir(exist_ok=True)
    shots = []
    none_opened: list[BrowserContext] = []
    contexts = item.stash.get(CONTEXTS, none_opened)
    for number, context in enumerate(contexts):
        for index, page in enumerate(context.pages):
            path = ARTIFACTS / f"FAILED-{item.name}-{number}-{index}.png"
            page.screenshot(path=str(path), full_page=True)
            shots.append(f"{page.url} -> {path}")
    if shots:
        report.sections.append(("browser pages at failure", "\n".join(shots)))
    server = getattr(item, "funcargs", {}).get("live_server")
    if isinstance(server, LiveServer):
        log = server.log_path.read_text(errors="replace").splitlines()
        report.sections.append(("server log (last 60 lines)", "\n".join(log[-60:])))


@dataclass(frozen=True)
class LiveServer:
    url: str
    database_url: str
    media_dir: Path
    db: Database
    log_path: Path

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10.0)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _create_schema(database_url: str) -> None:
    """The Alembic migrations once they exist (what production runs), else the models.

    A migration that lags behind the models would make the server fail half-way through a
    flow with a puzzling 503, so drift fails here, naming what is missing.
    """
    engine = sa.create_engine(database_url)
    try:
        if not any((migrate.MIGRATIONS_DIR / "versions").glob("*.py")):
            metadata.create_all(engine)
            return
        migrate.upgrade(database_url)
        with engine.connect() as connection:
            drift = compare_metadata(MigrationContext.configure(connection), metadata)
    finally:
        engine.dispose()
    if drift:
        pytest.fail("the Alembic migrations are behind the models; generate a new revision. "
                    "Missing: " + ", ".join(_describe(change) for change in drift))


def _describe(change: Any) -> str:
    """One autogenerate difference as e.g. 'add_column checkouts.source'."""
    if isinstance(change, list):
        return "; ".join(_describe(item) for item in change)
    operation, *rest = change
    if operation in ("add_table", "remove_table", "add_index", "remove_index"):
        return f"{operation} {rest[0].name}"
    if operation in ("add_column", "remove_column"):
        return f"{operation} {rest[1]}.{rest[2].name}"
    if operation.startswith("modify_"):
        return f"{operation} {rest[1]}.{rest[2]}"
    return str(change)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve_app(tmp_path_factory.mktemp("live"), rtmp_port=0) as server:
        yield server


@contextlib.contextmanager
def serve_app(workdir: Path, rtmp_port: int) -> Iterator[LiveServer]:
    """The app in its own process on a fresh SQLite database (RTMP ingest on ``rtmp_port``;
    0 disables it)."""
    database_url = f"sqlite:///{workdir / 'e2e.db'}"
    media_dir = workdir / "media"
    _create_schema(database_url)
    port = _free_port()
    env = {
        **os.environ,
        "LIVESHOP_DATABASE_URL": database_url,
        "LIVESHOP_MEDIA_DIR": str(media_dir),
        "LIVESHOP_SECRET_KEY": SERVING_SECRET_KEY,
        "LIVESHOP_RTMP_PORT": str(rtmp_port),
        # A connected Shopify store may be the fake one on loopback (tests/e2e/
        # test_shopify_sync.py), signing its webhooks with its own secret.
        "LIVESHOP_SHOPIFY_ALLOW_HTTP": "true",
        "LIVESHOP_SHOPIFY_APP_SECRET": SHOPIFY_SECRET,
    }
    log_path = workdir / "server.log"
    # Started in the temp dir so a developer's .env in the checkout cannot leak in.
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "liveshop.main:app", "--host", "127.0.0.1",
             "--port", str(port), "--ws", PROTOCOL_PATH],
            cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    db = Database(database_url)
    try:
        wait_until_answering(url, server, log_path, probe="/openapi.json")
        yield LiveServer(url=url, database_url=database_url, media_dir=media_dir, db=db,
                         log_path=log_path)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        db.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `make chromium` "
                    "(apt-get install chromium); browser tests never skip")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class PageErrors:
    """Console errors and uncaught exceptions seen by the pages of one test."""

    messages: list[str] = field(default_factory=list)

    def watch(self, page: Page, label: str) -> None:
        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.messages.append(f"[{label}] console: {message.text} ({page.url})")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.messages.append(
            f"[{label}] uncaught: {error} ({page.url})"))

    def check(self, step: str) -> None:
        if self.messages:
            # Reported once: the end-of-test check must not repeat a step's failure.
            seen, self.messages = self.messages, []
            pytest.fail(f"browser errors up to step {step!r}:\n" + "\n".join(seen))


NewContext = Callable[..., BrowserContext]


@pytest.fixture
def page_errors() -> Iterator[PageErrors]:
    errors = PageErrors()
    yield errors
    errors.check("end of test")


@pytest.fixture
def new_context(browser: Browser, live_server: LiveServer, page_errors: PageErrors,
                request: pytest.FixtureRequest) -> Iterator[NewContext]:
    """new_context(viewport=PHONE, label="buyer") -> a fresh cookie jar on the live server.

    Every page opened in it reports console and page errors to ``page_errors``.
    """
    contexts: list[BrowserContext] = []

    def factory(viewport: ViewportSize | None = None, label: str = "page",
                **options: Any) -> BrowserContext:
        context = browser.new_context(base_url=live_server.url, viewport=viewport or DESKTOP,
                                      locale="en-GB", **options)
        context.set_default_timeout(10_000)
        context.on("page", lambda page: page_errors.watch(page, label))
        contexts.append(context)
        return context

    request.node.stash[CONTEXTS] = contexts
    yield factory
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context: NewContext) -> Page:
    return new_context(viewport=PHONE, label="page").new_page()


Screenshot = Callable[[Page, str], Path]


@pytest.fixture
def screenshot(page_errors: PageErrors) -> Screenshot:
    """screenshot(page, "03-cart") saves tests/e2e/artifacts/03-cart.png.

    Also fails right there if the browser reported an error, naming the step.
    """
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page: Page, name: str) -> Path:
        page_errors.check(name)
        path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
