"""The demo's app, served by ``liveshop demo``: the production app with the demo's live show
plugged in (simulated viewers watch, chat and buy while a test pattern streams).

The production app (liveshop.main, liveshop.app.create_app) imports nothing from the demo;
the demo builds on it."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI
from pydantic import SecretStr

from liveshop.app import background, create_app
from liveshop.core.config import Settings, get_settings
from liveshop.core.db import Database
from liveshop.demo.shopify_store import connected_store
from liveshop.demo.simulation import run_forever
from liveshop.integrations.shopify.fake import DEFAULT_SECRET
from liveshop.services import Services


def simulated_show(services: Services) -> AbstractAsyncContextManager[None]:
    """The demo's show, kept alive by simulated people while the app serves (in the serving
    event loop's room, with its purchases)."""
    return background(run_forever(services.context, services.hub, services.purchases))


def create_demo_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    """A serving process's app (``uvicorn --factory liveshop.demo.app:create_demo_app``),
    on the environment's settings unless given others. The demo sends no mail: with the
    file backend (the default) what it would send is shown at /outbox, to browsers on this
    machine (liveshop/notifications/pages.py)."""
    settings = (settings or get_settings()).model_copy(update={"mail_outbox_page": True})
    # A Shopify store to connect to: the fake one the demo serves beside the app, on
    # loopback over plain http, signing its webhooks with its own secret.
    settings = settings.model_copy(update={
        "shopify_allow_http": True, "shopify_app_secret": SecretStr(DEFAULT_SECRET)})
    return create_app(settings, db, serving_process=True,
                      plug_ins=(simulated_show, connected_store))
