"""The seller's Shopify pages: the import (upload an export, read the dry run's report,
confirm) and the connected store (connect, pull, the sync's state with a retry button).

The uploaded file waits between the two steps under ``var/imports`` (beside the media
directory, never served), named for the shop and the seller, so only they can confirm it.
The import runs in the confirming request and the page shows its report at the end.
"""

from __future__ import annotations

import re
import secrets
import shutil
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from liveshop.accounts.model import Actor
from liveshop.catalog import service as catalog
from liveshop.core.config import Settings
from liveshop.core.errors import DomainError, InvalidInput
from liveshop.integrations.shopify import files
from liveshop.integrations.shopify.imports import ImportReport
from liveshop.integrations.shopify.sync import ShopifySync
from liveshop.web.context import AppContext
from liveshop.web.deps import Context, CurrentActor, FormCsrf
from liveshop.web.templating import render

router = APIRouter()
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


async def form_data(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(form_data)]


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


def upload_dir(settings: Settings) -> Path:
    return settings.media_dir.parent / "imports"


def _waiting(settings: Settings, actor: Actor, shop_id: int, token: str) -> Path:
    if not TOKEN.fullmatch(token):
        raise InvalidInput("That upload is no longer waiting; upload the file again",
                           field="token")
    return upload_dir(settings) / f"{shop_id}-{actor.user_id}-{token}.csv"


def _page(request: Request, context: Context, actor: Actor, shop_id: int, *,
          report: ImportReport | None = None, token: str = "", market: str = "",
          error: str | None = None, status_code: int = 200) -> Response:
    shop = catalog.get_owned_shop(context.db, actor, shop_id)
    # "market" in a template is the visitor's (web/templating.py): the file's is its own.
    return render(request, "integrations/shopify/import.html", status_code=status_code,
                  shop=shop, report=report, token=token, price_market=market, error=error)


@router.get("/seller/shops/{shop_id}/import")
def import_page(request: Request, shop_id: int, actor: CurrentActor,
                context: Context) -> Response:
    return _page(request, context, actor, shop_id)


@router.post("/seller/shops/{shop_id}/import", dependencies=[FormCsrf])
def check_upload(request: Request, shop_id: int, actor: CurrentActor, context: Context,
                 form: Form) -> Response:
    """The dry run: nothing is written but the file, kept for the confirmation."""
    upload = form.get("file")
    market = _text(form, "market")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput("Choose the CSV file Shopify exported", field="file")
        report = files.dry_run(context.db, actor, shop_id, upload.file, market)
        token = secrets.token_urlsafe(18)
        target = _waiting(context.settings, actor, shop_id, token)
        target.parent.mkdir(parents=True, exist_ok=True)
        upload.file.seek(0)
        with target.open("wb") as kept:
            shutil.copyfileobj(upload.file, kept)
    except DomainError as error:
        return _page(request, context, actor, shop_id, market=market, error=error.message,
                     status_code=error.status)
    return _page(request, context, actor, shop_id, report=report, token=token, market=market)


@router.post("/seller/shops/{shop_id}/import/confirm", dependencies=[FormCsrf])
def confirm_import(request: Request, shop_id: int, actor: CurrentActor, context: Context,
                   form: Form) -> Response:
    market = _text(form, "market")
    try:
        path = _waiting(context.settings, actor, shop_id, _text(form, "token"))
        if not path.exists():
            raise InvalidInput("That upload is no longer waiting; upload the file again",
                               field="token")
        with path.open("rb") as stream:
            report = files.import_file(context.db, actor, shop_id, stream, market,
                                       _text(form, "filename") or path.name)
        path.unlink(missing_ok=True)
    except DomainError as error:
        return _page(request, context, actor, shop_id, market=market, error=error.message,
                     status_code=error.status)
    return _page(request, context, actor, shop_id, report=report, market=market)


# --- the connected store's page: connect, pull, the sync's state and a retry ---

def _sync(context: AppContext) -> ShopifySync:
    return ShopifySync(context.db, context.settings)


def _store_page(request: Request, context: Context, actor: Actor, shop_id: int, *,
                error: str | None = None, notice: str = "", domain: str = "",
                status_code: int = 200) -> Response:
    shop = catalog.get_owned_shop(context.db, actor, shop_id)
    view = _sync(context).view(actor, shop_id)
    return render(request, "integrations/shopify/store.html", status_code=status_code,
                  shop=shop, sync=view, error=error, notice=notice, domain=domain)


@router.get("/seller/shops/{shop_id}/shopify")
def store_page(request: Request, shop_id: int, actor: CurrentActor,
               context: Context) -> Response:
    return _store_page(request, context, actor, shop_id)


@router.post("/seller/shops/{shop_id}/shopify/connect", dependencies=[FormCsrf])
def connect_store(request: Request, shop_id: int, actor: CurrentActor, context: Context,
                  form: Form) -> Response:
    domain = _text(form, "domain")
    try:
        _sync(context).connect(actor, shop_id, domain, _text(form, "access_token"),
                               _text(form, "market"))
    except DomainError as error:
        return _store_page(request, context, actor, shop_id, error=error.message,
                           domain=domain, status_code=error.status)
    return _store_page(request, context, actor, shop_id,
                       notice="Connected. Pull the store's products to bring them in.")


@router.post("/seller/shops/{shop_id}/shopify/pull", dependencies=[FormCsrf])
def pull_store(request: Request, shop_id: int, actor: CurrentActor, context: Context) -> Response:
    try:
        report = _sync(context).pull(actor, shop_id)
    except DomainError as error:
        return _store_page(request, context, actor, shop_id, error=error.message,
                           status_code=error.status)
    return _store_page(request, context, actor, shop_id, notice=(
        f"Pulled: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.skipped} skipped."))


@router.post("/seller/shops/{shop_id}/shopify/retry", dependencies=[FormCsrf])
def retry_store(request: Request, shop_id: int, actor: CurrentActor,
                context: Context) -> Response:
    retried = _sync(context).retry(actor, shop_id)
    return _store_page(request, context, actor, shop_id,
                       notice=f"{retried} item(s) will be tried again within seconds.")


@router.post("/seller/shops/{shop_id}/shopify/disconnect", dependencies=[FormCsrf])
def disconnect_store(request: Request, shop_id: int, actor: CurrentActor,
                     context: Context) -> Response:
    try:
        _sync(context).disconnect(actor, shop_id)
    except DomainError as error:
        return _store_page(request, context, actor, shop_id, error=error.message,
                           status_code=error.status)
    return _store_page(request, context, actor, shop_id,
                       notice="Disconnected: the token is forgotten; products stay.")
