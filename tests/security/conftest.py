"""Helpers for the security tests: an app on a throw-away SQLite database and users in it.

These tests probe authorization and input handling, not the database engine, so they run
on SQLite only and build one app per module (creating users is the slow part).
"""

from __future__ import annotations

import io
import secrets
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from liveshop.app import create_app
from liveshop.core.config import Settings
from liveshop.core.db import Database
from liveshop.schema import metadata
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
                        mail_backend="memory", _env_file=None, **overrides)
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


def log_in_again(app: FastAPI, user: UserClient) -> UserClient:
    """The same user in a second browser, with a session of its own: for a request that ends
    the session it is sent with (logging out, logging in again). From an address of its own,
    so that the per-IP log-in limit is not what a test meets."""
    http = TestClient(app, client=(f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.1",
                                   50000))
    response = http.post("/api/v1/auth/login", json={"email": user.user["email"],
                                                     "password": DEFAULT_PASSWORD})
    assert response.status_code == 200, response.text
    return UserClient(http, user.user, response.json()["csrf_token"])


def clone(app: FastAPI, user: UserClient | None) -> TestClient:
    """An independent client with the same session: switching market in the clone leaves
    ``user`` untouched (the choice lives in the signed cookie), but logging out or in there
    ends the session both share (it is kept on the server): see ``log_in_again``."""
    http = TestClient(app)
    if user is not None:
        http.cookies.update(user.http.cookies)
        http.headers["X-CSRF-Token"] = user.http.headers["X-CSRF-Token"]
    return http


def png_bytes(size: tuple[int, int] = (8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()
