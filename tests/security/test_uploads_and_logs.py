"""Hostile uploads are refused naming the field; secrets never reach logs or the database."""

from __future__ import annotations

import io
import logging
import re
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from liveshop.app import SESSION_COOKIE
from liveshop.core.db import Database
from liveshop.schema import metadata
from tests.conftest import DEFAULT_PASSWORD, UserClient
from tests.factories import create_product, create_shop
from tests.security.conftest import ADDRESS, build_app, clone, png_bytes, sign_up

MAX_UPLOAD = 64 * 1024
CARD_SPACED = "4242 4242 4242 4242"
CARD_DIGITS = CARD_SPACED.replace(" ", "")
CVC = "987"
WRONG_PASSWORD = "not-the-password-42"


def _with_size(png: bytes, width: int, height: int) -> bytes:
    """The same PNG claiming another size in its header (CRC fixed so it still parses)."""
    ihdr = png[12:29]
    fields = struct.pack(">II", width, height) + ihdr[12:]
    chunk = b"IHDR" + fields
    return png[:12] + chunk + struct.pack(">I", zlib.crc32(chunk)) + png[33:]


def _gif() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "GIF")
    return buffer.getvalue()


BAD_UPLOADS = {
    "text file": ("notes.png", b"just some text, not an image", "image/png"),
    "gif (not accepted)": ("anim.gif", _gif(), "image/gif"),
    "html pretending to be png": ("x.png", b"<html><script>alert(1)</script></html>",
                                  "image/png"),
    "just over the size limit": ("big.png", png_bytes() + b"\0" * MAX_UPLOAD, "image/png"),
    "decompression bomb": ("bomb.png", _with_size(png_bytes(), 50_000, 50_000), "image/png"),
    "corrupt image": ("broken.png", png_bytes((64, 64))[:60] + b"\x00garbage" * 20,
                      "image/png"),
    "empty file": ("empty.png", b"", "image/png"),
}


@pytest.fixture(scope="module")
def shop_world(tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[tuple[FastAPI, Database, UserClient, int, int]]:
    app, db, _ = build_app(Path(tmp_path_factory.mktemp("uploads")), max_upload_bytes=MAX_UPLOAD)
    seller = sign_up(app, "seller")
    shop_id = create_shop(db, seller.id)
    product_id, _ = create_product(db, shop_id)
    show = seller.post("/api/v1/shows", json={
        "shop_id": shop_id, "title": "Drop", "markets": ["UK"],
        "scheduled_at": "2031-01-01T18:00:00+00:00", "product_ids": [product_id]})
    assert show.status_code == 201, show.text
    yield app, db, seller, product_id, show.json()["id"]
    seller.http.close()
    db.dispose()


@pytest.mark.parametrize("kind", sorted(BAD_UPLOADS))
@pytest.mark.parametrize("target", ["product image", "show cover"])
def test_bad_upload_is_refused_naming_the_file(shop_world: Any, kind: str, target: str
                                               ) -> None:
    _, _, seller, product_id, show_id = shop_world
    files = {"file": BAD_UPLOADS[kind]}
    if target == "product image":
        response = seller.post(f"/api/v1/products/{product_id}/images", files=files)
    else:
        response = seller.put(f"/api/v1/shows/{show_id}/cover", files=files)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]["field"] == "file", response.text
    if kind == "just over the size limit":
        assert response.status_code == 413


def test_a_good_upload_still_works(shop_world: Any) -> None:
    _, _, seller, product_id, show_id = shop_world
    image = {"file": ("ok.png", png_bytes(), "image/png")}
    assert seller.post(f"/api/v1/products/{product_id}/images", files=image
                       ).status_code == 201
    assert seller.put(f"/api/v1/shows/{show_id}/cover", files=image).status_code == 200


# --- secrets in logs and in the database ---

LOGGERS = ("", "liveshop", "sqlalchemy", "sqlalchemy.engine", "uvicorn", "uvicorn.error",
           "uvicorn.access", "fastapi", "starlette", "httpx")


def _buy_with_card(app: FastAPI, buyer: UserClient, variant_id: int) -> str:
    """JSON checkout with a declined then a good card, a saved card, an HTML form checkout;
    returns the buyer's API token."""
    assert buyer.post("/api/v1/cart/items", json={"variant_id": variant_id}).status_code == 201
    checkout = buyer.post("/api/v1/checkouts", json={"address": ADDRESS},
                          headers={"Idempotency-Key": "sec-checkout-1"})
    assert checkout.status_code == 201, checkout.text
    card = {"number": CARD_SPACED, "exp_month": 12, "exp_year": 2040, "cvc": CVC}
    declined = buyer.post(f"/api/v1/checkouts/{checkout.json()['id']}/pay",
                          json={"card": {**card, "number": "4000 0000 0000 0002"}},
                          headers={"Idempotency-Key": "sec-pay-0"})
    assert declined.status_code == 402, declined.text
    # A declined payment closes its checkout; the buyer checks out again.
    checkout = buyer.post("/api/v1/checkouts", json={"address": ADDRESS},
                          headers={"Idempotency-Key": "sec-checkout-2"})
    assert checkout.status_code == 201, checkout.text
    paid = buyer.post(f"/api/v1/checkouts/{checkout.json()['id']}/pay",
                      json={"card": card, "save_card": True},
                      headers={"Idempotency-Key": "sec-pay-1"})
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"
    saved = buyer.post("/api/v1/payment-methods",
                       json={"card": {**card, "number": CARD_DIGITS}, "make_default": True})
    assert saved.status_code == 201, saved.text
    # The HTML checkout form, the way a browser posts it.
    assert buyer.post("/api/v1/cart/items", json={"variant_id": variant_id}).status_code == 201
    page = buyer.get("/checkout")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text)
    assert csrf and key, page.text[:500]
    form = buyer.post("/checkout", data={
        "csrf_token": csrf.group(1), "idempotency_key": key.group(1), **ADDRESS,
        "card_number": CARD_SPACED, "exp_month": "12", "exp_year": "2040", "cvc": CVC,
        "save_card": "on"}, follow_redirects=False)
    assert form.status_code == 303, form.text[:2000]
    token = buyer.post("/api/v1/tokens", json={"name": "cli"})
    assert token.status_code == 201
    secret: str = token.json()["token"]
    assert buyer.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}
                     ).status_code == 200
    return secret


def test_card_password_cookies_and_tokens_stay_out_of_logs_and_database(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    app, db, _ = build_app(tmp_path)
    seller = sign_up(app, "seller")
    _, (variant_id,) = create_product(db, create_shop(db, seller.id))
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    buyer = sign_up(app, "buyer")
    wrong = TestClient(app).post("/api/v1/auth/login", json={
        "email": buyer.user["email"], "password": WRONG_PASSWORD})
    assert wrong.status_code == 401
    login = clone(app, None).post("/api/v1/auth/login", json={
        "email": buyer.user["email"], "password": DEFAULT_PASSWORD})
    assert login.status_code == 200
    api_token = _buy_with_card(app, buyer, variant_id)
    cookie = buyer.http.cookies.get(SESSION_COOKIE)
    assert cookie
    # The capture is real: SQL with its parameters and the app's own records are in it.
    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records)

    logged = caplog.text + "\n".join(
        f"{record.getMessage()} {record.args!r} {record.__dict__!r}" for record in caplog.records)
    squashed = re.sub(r"[\s-]", "", logged)
    leaks = {
        "card number": CARD_DIGITS in squashed,
        "password": DEFAULT_PASSWORD in logged,
        "wrong password": WRONG_PASSWORD in logged,
        "session cookie": str(cookie) in logged,
        "login session cookie": str(login.cookies.get(SESSION_COOKIE)) in logged,
        "API token": api_token in logged,
        "CVC next to card data": bool(re.search(
            rf"(cvc|cvv|security.code|card)\W{{0,40}}{CVC}\b", logged, re.IGNORECASE)),
    }
    assert not [what for what, leaked in leaks.items() if leaked], leaks
    assert not _rows_containing(db, CARD_DIGITS)
    buyer.http.close()
    seller.http.close()
    db.dispose()


def _rows_containing(db: Database, digits: str) -> list[str]:
    """Every text-ish column of every table whose value holds the digits (ignoring
    spaces and dashes)."""
    found = []
    with db.read() as session:
        for table in metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(
                c.type, sa.String | sa.Text | sa.JSON | sa.LargeBinary)]
            for column in columns:
                for value in session.execute(sa.select(column)).scalars():
                    text = value.decode(errors="replace") if isinstance(value, bytes) \
                        else str(value)
                    if digits in re.sub(r"[\s-]", "", text):
                        found.append(f"{table.name}.{column.name}")
    return found
