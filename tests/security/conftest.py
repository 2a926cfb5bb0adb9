"""Helpers for the security tests: an app on a throw-away SQLite database and users in it.

These tests probe authorization and input handling, not the database engine, so they run
on SQLite only and build one app per module (creating users is the slow part).
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from liveshop.core.config import Settings
from liveshop.core.db import Database
from liveshop.schema import metadata
from liveshop.web.app import create_app
from tests.conftest import DEFAULT_PASSWORD, UserClient, _grant_role

ADDRESS = {"full_name": "Ann Buyer", "line1": "1 High Street", "line2": "", "city": "London",
           "postcode": "N1 1AA", "country": "GB"}
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}


def build_app(workdir: Path, **overrides: Any) -> tuple[FastAPI, Database, Settings]:
    url = f"sqlite:///{workdir / 'security.db'}"
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    settings = Settings(database_url=url, media_dir=workdir / "media", secret_key="sec-secret",
                        _env_file=None, **overrides)
    db = Database(url)
    return create_app(settings, db), db, settings


def sign_up(app: FastAPI, role: str, name: str | None = None) -> UserClient:
    """A logged-in client; moderator and admin are granted after a buyer sign-up."""
    http = TestClient(app)
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    response = http.post("/api/v1/auth/signup", json={
        "email": email, "password": DEFAULT_PASSWORD, "display_name": name or role.title(),
        "role": role if role in ("buyer", "seller", "creator") else "buyer",
    })
    assert response.status_code == 201, response.text
    body = response.json()
    if role in ("moderator", "admin"):
        _grant_role(app, body["user"]["id"], role)
        body["user"]["role"] = role
    return UserClient(http, body["user"], body["csrf_token"])


def clone(app: FastAPI, user: UserClient | None) -> TestClient:
    """An independent client with the same session: the session lives in the signed cookie,
    so logging out or switching market in the clone leaves ``user`` untouched."""
    http = TestClient(app)
    if user is not None:
        http.cookies.update(user.http.cookies)
        http.headers["X-CSRF-Token"] = user.http.headers["X-CSRF-Token"]
    return http


def png_bytes(size: tuple[int, int] = (8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()
