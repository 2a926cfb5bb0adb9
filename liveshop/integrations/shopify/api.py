"""Shopify API: upload a product export (a dry run, or the import), follow a run; connect a
store, pull its products, see and retry its sync."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from liveshop.core.idempotency import fingerprint, run_once
from liveshop.core.inputs import Id, JsonInput, SingleLine
from liveshop.integrations.shopify import files, imports
from liveshop.integrations.shopify.sync import ConnectionView, ShopifySync, SyncView
from liveshop.markets.model import MarketCode
from liveshop.web.context import AppContext
from liveshop.web.deps import Context, CurrentActor, IdempotencyKey

router = APIRouter(tags=["shopify"])

# Shopify's own importer takes files up to 15 MB; an export of a large store is bigger.
MAX_FILE_BYTES = 200 * 1024 * 1024


class ImportRun(BaseModel):
    id: int
    shop_id: int
    status: str = Field(description="running, done or failed")
    market: str
    filename: str
    rows_total: int
    rows_done: int
    report: dict[str, Any] | None = Field(description="created, updated, unchanged, skipped "
                                          "and every problem with its row and column")


def _run_body(view: imports.RunView) -> dict[str, Any]:
    return ImportRun(**view.__dict__).model_dump(mode="json")


@router.post("/shops/{shop_id}/imports", status_code=201, response_model=ImportRun,
             responses={200: {"description": "A dry run's report (nothing written), or the "
                              "run a retried Idempotency-Key started"}})
def import_products(
    shop_id: Id,
    file: Annotated[UploadFile, File(description="Shopify product export (CSV, UTF-8)")],
    market: Annotated[MarketCode, Form(description="The market the file's Variant Price is "
                                       "for (in its currency); one the shop ships to")],
    actor: CurrentActor,
    context: Context,
    idempotency_key: IdempotencyKey,
    dry_run: Annotated[bool, Form(description="Report what would happen; write nothing")]
    = False,
) -> JSONResponse:
    """Import a Shopify product export: products matched by handle, variants by SKU (or
    options), so the same file again changes nothing. A dry run writes nothing (its key is
    not stored); an import commits in batches, and its retry with the same key answers the
    run it started instead of starting another."""
    stream = file.file
    if file.size is not None and file.size > MAX_FILE_BYTES:
        return JSONResponse({"error": {"code": "too_large", "field": "file", "message":
                             f"The file is larger than {MAX_FILE_BYTES // 2**20} MB"}}, 413)
    if dry_run:
        report = files.dry_run(context.db, actor, shop_id, stream, market)
        return JSONResponse(report.as_dict(), status_code=200)
    digest = files.sha256_of(stream)
    stored = run_once(
        context.db, user_id=actor.user_id, key=idempotency_key,
        abandoned_seconds=context.settings.idempotency_abandoned_seconds,
        request_fingerprint=fingerprint("shopify_import", {
            "shop_id": shop_id, "market": market, "file_sha256": digest}),
        operation=lambda session: (201, {"import_id": imports.new_run(
            session, actor, shop_id, market, file.filename or "", digest)}),
    )
    run_id = int(stored.body["import_id"])
    if stored.replayed:
        view = imports.get_run(context.db, actor, run_id)
        return JSONResponse(_run_body(view), status_code=200,
                            headers={"Idempotent-Replayed": "true"})
    files.run_started(context.db, actor, shop_id, run_id, stream, market)
    return JSONResponse(_run_body(imports.get_run(context.db, actor, run_id)), status_code=201)


@router.get("/imports/{import_id}", response_model=ImportRun)
def import_run(import_id: Id, actor: CurrentActor, context: Context) -> dict[str, Any]:
    """A run's progress (rows done of the total) and, once done, its report."""
    return _run_body(imports.get_run(context.db, actor, import_id))


# --- a connected store (docs/shopify.md, section 2) ---

class ConnectIn(JsonInput):
    domain: Annotated[str, SingleLine(min_length=1, max_length=255)] = Field(
        description="The store's domain, like my-store.myshopify.com")
    access_token: Annotated[str, SingleLine(min_length=1, max_length=200)] = Field(
        description="The Admin API access token of the store's custom app (scopes: "
        "read_products, read_inventory, write_orders). Stored encrypted; never shown again")
    market: MarketCode = Field(description="The market the store's prices are for (in its "
                               "currency); one the shop ships to")


class ConnectionOut(BaseModel):
    shop_id: int
    domain: str
    market: str
    location_name: str = Field(description="The store's location whose stock is synced")
    status: str = Field(description="active, or uninstalled (connect again)")
    connected_at: datetime
    last_sync_at: datetime | None
    last_sync_report: dict[str, Any] | None
    last_error: str | None


class FailureOut(BaseModel):
    what: str
    reason: str
    attempts: int
    since: datetime


class SyncOut(BaseModel):
    connection: ConnectionOut | None = Field(description="None: no store is connected")
    waiting: int = Field(description="Order pushes and webhooks still in the outbox")
    failures: list[FailureOut]


class PullOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    skipped: int
    problems: list[str]


class RetryOut(BaseModel):
    retried: int


def _sync(context: AppContext) -> ShopifySync:
    return ShopifySync(context.db, context.settings)


@router.put("/shops/{shop_id}/shopify", response_model=ConnectionOut)
def connect_store(shop_id: Id, data: ConnectIn, actor: CurrentActor,
                  context: Context) -> ConnectionView:
    """Connect (or connect again) the shop's Shopify store. The token is checked by asking
    the store for its locations; the first active one is synced. Putting the same store
    again replaces the token: the call is idempotent."""
    return _sync(context).connect(actor, shop_id, data.domain, data.access_token, data.market)


@router.get("/shops/{shop_id}/shopify", response_model=SyncOut)
def sync_status(shop_id: Id, actor: CurrentActor, context: Context) -> SyncView:
    """The connection (never its token), the work waiting in the outbox and failures."""
    return _sync(context).view(actor, shop_id)


@router.delete("/shops/{shop_id}/shopify", status_code=204)
def disconnect_store(shop_id: Id, actor: CurrentActor, context: Context) -> None:
    """Forget the store and its token; products and stock here stay as they are."""
    _sync(context).disconnect(actor, shop_id)


@router.post("/shops/{shop_id}/shopify/pull", response_model=PullOut)
def pull_products(shop_id: Id, actor: CurrentActor, context: Context) -> dict[str, Any]:
    """Pull every product of the store (paginated) and import it as the CSV import would;
    stock follows Shopify's count less the units promised here. Pulling again changes
    only what changed there, so a retry is harmless."""
    report = _sync(context).pull(actor, shop_id)
    return {"created": report.created, "updated": report.updated,
            "unchanged": report.unchanged, "skipped": report.skipped,
            "problems": [str(problem) for problem in report.problems]}


@router.post("/shops/{shop_id}/shopify/retry", response_model=RetryOut)
def retry_sync(shop_id: Id, actor: CurrentActor, context: Context) -> dict[str, int]:
    """Try the shop's waiting pushes and webhooks again now instead of after their backoff."""
    return {"retried": _sync(context).retry(actor, shop_id)}
