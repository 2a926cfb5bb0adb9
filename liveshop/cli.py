"""The ``liveshop`` command."""

from __future__ import annotations

import os

import typer
import uvicorn

from liveshop.core import migrate as migrations
from liveshop.core.config import get_settings
from liveshop.live.transport import PROTOCOL_PATH

app = typer.Typer(help="liveshop: live-shopping platform", no_args_is_help=True)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (safe to run again)."""
    settings = get_settings()
    migrations.upgrade(settings.database_url)
    typer.echo("database is at the newest schema")


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = typer.Option(1, min=1, help="number of app processes"),
) -> None:
    """Serve the web app and API."""
    uvicorn.run("liveshop.main:app", host=host, port=port, workers=workers,
                proxy_headers=True, ws=PROTOCOL_PATH)


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
    """Migrate, seed demo data and serve with a show that is live: all a newcomer needs."""
    os.environ["LIVESHOP_DEMO_SIMULATION"] = "true"
    get_settings.cache_clear()
    migrate()
    seed()
    typer.echo(f"serving http://{host}:{port}")
    serve(host=host, port=port, workers=1)


if __name__ == "__main__":
    app()
