"""`liveshop demo` serves the production app with the simulated show plugged in; the
production app itself runs no simulation (and imports no demo code: tests/test_architecture.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient

from liveshop.app import create_app
from liveshop.core.config import Settings
from liveshop.core.db import Database
from liveshop.demo import app as demo_app
from liveshop.live.purchases import LivePurchases
from liveshop.live.room import Hub
from liveshop.services import app_services
from liveshop.web.context import AppContext


@pytest.fixture
def simulations(monkeypatch: pytest.MonkeyPatch) -> list[tuple[AppContext, Hub, LivePurchases]]:
    """What the demo's simulation was started with, instead of starting it."""
    started: list[tuple[AppContext, Hub, LivePurchases]] = []

    async def run_forever(context: AppContext, hub: Hub, purchases: LivePurchases) -> None:
        started.append((context, hub, purchases))
        await asyncio.Event().wait()

    monkeypatch.setattr(demo_app, "run_forever", run_forever)
    return started


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_simulated_show_runs_while_the_demo_app_serves(
        settings: Settings, db: Database, simulations: list[Any]) -> None:
    app: Any = create_app(settings, db, plug_ins=(demo_app.simulated_show,))
    with TestClient(app):
        # The serving loop's hub and purchases: the simulated viewers' room is the real one.
        serving = app_services(app)
        assert simulations == [(serving.context, serving.hub, serving.purchases)]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_production_app_simulates_nothing(settings: Settings, db: Database,
                                              simulations: list[Any]) -> None:
    with TestClient(create_app(settings, db)):
        pass
    assert simulations == []


def test_the_demo_app_is_a_serving_app_with_the_simulation(
        monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[dict[str, Any]] = []
    monkeypatch.setattr(demo_app, "create_app", lambda *args, **kwargs: built.append(kwargs))
    demo_app.create_demo_app()
    assert built == [{"serving_process": True,
                      "plug_ins": (demo_app.simulated_show, demo_app.connected_store)}]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_demo_app_shows_its_mail_outbox_and_the_production_app_does_not(
        settings: Settings, db: Database) -> None:
    serving = settings.model_copy(update={"secret_key": "k" * 48})
    demo = demo_app.create_demo_app(serving, db)
    assert app_services(demo).settings.mail_outbox_page
    assert not app_services(create_app(serving, db)).settings.mail_outbox_page
