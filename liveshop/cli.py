"""The ``liveshop`` command."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import typer
import uvicorn

from liveshop.core import migrate as migrations
from liveshop.core.config import get_settings, secret_key_problem
from liveshop.live.socket_writes import PROTOCOL_PATH
from liveshop.video.ws import MAX_FRAME_BYTES

app = typer.Typer(help="liveshop: live-shopping platform", no_args_is_help=True)

# What makes an app process web-only: no RTMP listener, no publishers, and it leaves the
# streams of the ingest process alone (docs/deploy.md).
WEB_ONLY = {"LIVESHOP_VIDEO_INGEST": "false", "LIVESHOP_RTMP_PORT": "0"}
# A supervised ingest process that died is started again after this pause (not in a loop
# that would spin if it cannot start at all).
INGEST_RESTART_SECONDS = 1.0
INGEST_STOP_SECONDS = 10.0
# The demo's secret key, made on its first run and kept (beside var/liveshop.db).
DEMO_SECRET_KEY_FILE = Path("var/secret_key")


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (safe to run again)."""
    settings = get_settings()
    migrations.upgrade(settings.database_url)
    typer.echo("database is at the newest schema")


# The largest WebSocket message a client may send: a browser publisher's media chunk (room
# messages are far smaller). uvicorn's default, 16 MiB, would let any socket make the
# server buffer that much before the handlers' own checks.
WS_MAX_SIZE = MAX_FRAME_BYTES + 64 * 1024


# What `liveshop serve` serves, and what `liveshop demo` serves: the same app with the demo's
# simulated show plugged in (built by a factory, as the production app never imports it).
PRODUCTION_APP = "liveshop.main:app"
DEMO_APP_FACTORY = "liveshop.demo.app:create_demo_app"


def _uvicorn(host: str, port: int, workers: int = 1, app: str = PRODUCTION_APP,
             factory: bool = False) -> None:
    uvicorn.run(app, host=host, port=port, workers=workers, factory=factory,
                proxy_headers=True, ws=PROTOCOL_PATH, ws_max_size=WS_MAX_SIZE)


def _require_secret_key() -> None:
    """Every serving process signs session cookies; refuse before starting any of them."""
    problem = secret_key_problem(get_settings().secret_key)
    if problem is not None:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2)


def demo_secret_key(path: Path = DEMO_SECRET_KEY_FILE) -> str:
    """The demo's secret key: random on first use, then read back, so demo sessions survive
    a restart; readable by its owner only."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: created here with mode 0600, never loosened by the umask or a race.
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
        file.write(key + "\n")
    return key


def _require_redis(layout: str) -> None:
    """Processes share rooms, viewer counts and rate limits only through Redis; without it
    each process would have rooms of its own and viewers would miss what happens elsewhere."""
    if not get_settings().redis_url:
        typer.echo(f"error: {layout} needs LIVESHOP_REDIS_URL (e.g. redis://127.0.0.1:6379/0):"
                   " without Redis every process would have rooms of its own", err=True)
        raise typer.Exit(2)


class IngestSupervisor:
    """Runs ``liveshop ingest`` beside the web workers, and again if it dies."""

    def __init__(self, host: str, port: int, env: dict[str, str]):
        self.command = [sys.executable, "-m", "liveshop.cli", "ingest", "--host", host,
                        "--port", str(port)]
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._keep_running, name="ingest-supervisor",
                                        daemon=True)

    def _keep_running(self) -> None:
        while True:
            with self._lock:
                if self._stopping.is_set():
                    return
                self.process = subprocess.Popen(self.command, env=self.env)
            code = self.process.wait()
            if self._stopping.wait(INGEST_RESTART_SECONDS):
                return
            typer.echo(f"ingest process exited ({code}); starting it again", err=True)

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._stopping.set()
            if self.process is not None and self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(INGEST_STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            self._thread.join()


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = typer.Option(1, min=1, help="number of app processes"),
    with_ingest: bool = typer.Option(
        False, help="also run video ingest (`liveshop ingest`) as a supervised process"),
    ingest_port: int = typer.Option(8001, help="HTTP port of the ingest process"),
) -> None:
    """Serve the web app and API.

    One worker (the default) is everything in one process: pages, API, rooms and video
    ingest. Several workers are web-only and share rooms through Redis; video ingest then
    runs in one other process: `liveshop ingest`, or `--with-ingest` to start it here.
    """
    _require_secret_key()
    if workers == 1 and not with_ingest:
        _uvicorn(host, port)
        return
    _require_redis(f"serve --workers {workers}" + (" --with-ingest" if with_ingest else ""))
    ingest_env = dict(os.environ)
    # The workers are spawned after this and inherit the environment.
    os.environ.update(WEB_ONLY)
    get_settings.cache_clear()
    if not with_ingest:
        typer.echo("the workers are web-only: run `liveshop ingest` for video (RTMP and"
                   " browser publishing), or serve with --with-ingest", err=True)
        _uvicorn(host, port, workers)
        return
    with IngestSupervisor(host, ingest_port, ingest_env).running():
        _uvicorn(host, port, workers)


@app.command()
def ingest(host: str = "127.0.0.1", port: int = 8001) -> None:
    """Video ingest, one process: RTMP (LIVESHOP_RTMP_HOST/PORT), the browser publishing
    WebSocket and one ffmpeg packager per live show. Route /ws/shows/*/publish to it."""
    _require_secret_key()
    _require_redis("a separate ingest process")
    os.environ["LIVESHOP_VIDEO_INGEST"] = "true"
    get_settings.cache_clear()
    _uvicorn(host, port)


@app.command()
def seed() -> None:
    """Load demo data (once; a second run changes nothing) and print demo logins."""
    from liveshop.core.db import Database
    from liveshop.demo.seed import seed_demo

    settings = get_settings()
    db = Database(settings.database_url)
    for line in seed_demo(db, settings):
        typer.echo(line)
    db.dispose()


@app.command()
def demo(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Migrate, seed demo data and serve with a show that is live: all a newcomer needs.
    Unless LIVESHOP_SECRET_KEY is set, the secret key is var/secret_key (made on first run)."""
    if not get_settings().secret_key:
        os.environ["LIVESHOP_SECRET_KEY"] = demo_secret_key()
        get_settings.cache_clear()
    _require_secret_key()
    migrate()
    seed()
    typer.echo(f"serving http://{host}:{port}")
    if get_settings().mail_backend == "file":  # the demo's app shows it (demo/app.py)
        typer.echo(f"mail it would send: http://{host}:{port}/outbox")
    # The demo's fake Shopify store (liveshop/demo/shopify_store.py) posts its webhooks to
    # LIVESHOP_PUBLIC_URL (set it when serving on another port).
    typer.echo("fake Shopify store (Harbour & Pine is connected to it): "
               "http://127.0.0.1:8765/ (another port if taken: see the log)")
    _uvicorn(host, port, app=DEMO_APP_FACTORY, factory=True)


@app.command("import-shopify")
def import_shopify(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                help="Shopify product export (CSV)"),
    shop: int = typer.Option(..., "--shop", help="The shop's id"),
    market: str = typer.Option(..., "--market",
                               help="The market the file's Variant Price is for, e.g. UK"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report only; write nothing"),
) -> None:
    """Import a Shopify product export into a shop, as its owner: a dry run's report first,
    then the import with progress (rows done / total). Running it again changes nothing."""
    from liveshop.core.db import Database
    from liveshop.core.errors import DomainError
    from liveshop.integrations.shopify import commands

    db = Database(get_settings().database_url)
    try:
        code = commands.import_shopify(db, file, shop, market, dry_run, typer.echo)
    except DomainError as error:
        typer.echo(f"error: {error.field}: {error.message}", err=True)
        code = 2
    finally:
        db.dispose()
    raise typer.Exit(code)


payouts_app = typer.Typer(help="Payout statements for sellers and creators",
                          no_args_is_help=True)
app.add_typer(payouts_app, name="payouts")


@payouts_app.command("run")
def payouts_run() -> None:
    """Make a payout statement per payee and currency for the money available now (past
    the withdrawal period after delivery). Running it again pays nothing twice."""
    from liveshop.core.db import Database
    from liveshop.orders.payouts import run_payouts
    from liveshop.payouts.model import major
    from liveshop.payouts.service import policy_of

    settings = get_settings()
    db = Database(settings.database_url)
    try:
        summary = run_payouts(db, policy_of(settings))
    finally:
        db.dispose()
    for statement in summary.statements:
        typer.echo(f"statement {statement.id}: {statement.payee} ({statement.payee_name}) "
                   f"{major(statement.amount, statement.currency)} {statement.currency}, "
                   f"{statement.line_count} lines")
    totals = ", ".join(f"{major(amount, currency)} {currency}"
                       for currency, amount in sorted(summary.totals.items())) or "nothing"
    typer.echo(f"{len(summary.statements)} statements, {totals}; "
               f"{summary.carried} payees carried a balance that was not positive")



feed_app = typer.Typer(help="The discovery feed (docs/feed.md)", no_args_is_help=True)
app.add_typer(feed_app, name="feed")


@feed_app.command("train")
def feed_train(
    method: str = typer.Option("ease", help="ease or als (liveshop/feed/recommender.py)"),
    days: int = typer.Option(90, min=1, help="Train on the events of this many days"),
) -> None:
    """Train the item-to-item model on the interaction events and store its neighbours
    (the app also retrains every LIVESHOP_FEED_TRAIN_INTERVAL_SECONDS)."""
    from liveshop.core.db import Database
    from liveshop.feed import training

    db = Database(get_settings().database_url)
    try:
        training.train(db, method=method, days=days, say=typer.echo)
    finally:
        db.dispose()


@feed_app.command("prune")
def feed_prune(
    days: int | None = typer.Option(None, min=1, help="Keep raw events this many days "
                                    "(default: LIVESHOP_FEED_EVENT_RETENTION_DAYS)"),
) -> None:
    """Summarise raw interaction events older than the retention age per day and item,
    then delete them."""
    from liveshop.core.db import Database
    from liveshop.feed import retention

    settings = get_settings()
    db = Database(settings.database_url)
    try:
        deleted = retention.prune(db, days or settings.feed_event_retention_days)
    finally:
        db.dispose()
    typer.echo(f"summarised and deleted {deleted} raw events")


@feed_app.command("evaluate")
def feed_evaluate(
    cache_dir: Path = typer.Option(Path("var/datasets"), "--cache-dir",
                                   help="Where recbole's wheel (MovieLens 100K) is kept"),
    synthetic: bool = typer.Option(True, help="Also evaluate on the simulated shoppers"),
    quick: bool = typer.Option(False, "--quick",
                               help="MovieLens with the parameters tuning chose last time"),
) -> None:
    """Offline evaluation on MovieLens 100K (each user's last 20% by time held out): Recall@10
    and NDCG@10 of MostPop, implicit ALS and the project's recommender, tuned on a validation
    split, in one run. Fetches recbole's wheel once, without its dependencies. Exits 1 when
    a target is not met (docs/feed-recommender.md)."""
    # Imported here: numpy, scipy and implicit are not for every command's start-up.
    from liveshop.feed import evaluation

    chosen = evaluation.TUNED_ON_MOVIELENS if quick else None
    reports = [evaluation.evaluate_movielens(cache_dir, chosen=chosen)]
    if synthetic:
        reports.append(evaluation.evaluate_synthetic())
    for report in reports:
        typer.echo(evaluation.format_report(report) + "\n")
    raise typer.Exit(0 if all(report.passed for report in reports) else 1)


if __name__ == "__main__":
    app()
