"""The secret key signs session cookies: a serving process refuses a missing, placeholder or
short one, and no app ever falls back to a key others know (issue 16, item 6)."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner

from liveshop.app import SESSION_COOKIE, create_app
from liveshop.core.config import Settings, secret_key_problem
from liveshop.core.db import Database
from liveshop.live.socket_writes import PROTOCOL_PATH
from liveshop.services import app_services
from tests.conftest import _grant_role
from tests.live.conftest import free_port
from tests.processes import ROOT

# What liveshop used to sign cookies with when LIVESHOP_SECRET_KEY was not set.
OLD_DEFAULT_SECRET = "dev-insecure-change-me"
REFUSED = {
    "missing": "",
    "old default": OLD_DEFAULT_SECRET,
    "docker-compose placeholder": "change-me-to-a-long-random-string",
    "short": "Zq8-3kP_x71mB0a",
}


@pytest.mark.parametrize("secret", REFUSED.values(), ids=REFUSED.keys())
def test_uvicorn_refuses_to_serve_with_an_unusable_secret(secret: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LIVESHOP_SECRET_KEY": secret,
           "LIVESHOP_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
           "LIVESHOP_MEDIA_DIR": str(tmp_path / "media"), "LIVESHOP_RTMP_PORT": "0"}
    # In a directory of its own, so that no developer's .env is read.
    finished = subprocess.run(
        [sys.executable, "-m", "uvicorn", "liveshop.main:app", "--port", str(free_port()),
         "--ws", PROTOCOL_PATH], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=60, check=False)
    assert finished.returncode != 0
    said = [line for line in finished.stderr.splitlines() if line.strip()]
    assert said[-1].startswith("liveshop: refusing to serve: LIVESHOP_SECRET_KEY"), said
    assert "Traceback" not in finished.stderr


@pytest.mark.parametrize("secret", REFUSED.values(), ids=REFUSED.keys())
def test_unusable_secrets_are_named(secret: str) -> None:
    assert secret_key_problem(secret) is not None


def test_a_long_random_secret_is_accepted() -> None:
    assert secret_key_problem(secrets.token_urlsafe(48)) is None


def _resigned(cookie: str, secret_key: str) -> str:
    """The cookie's own session data, signed with ``secret_key`` instead."""
    data = cookie.split(".")[0].encode()
    json.loads(base64.b64decode(data))  # it is the session, readable by anyone
    return TimestampSigner(secret_key).sign(data).decode()


def test_a_cookie_signed_with_the_old_default_secret_logs_nobody_in(
        database_url: str, tmp_path: Path) -> None:
    """An app built without a secret key (as production was, when the operator did not set
    one) signs with a random key of its own: the admin's session signed with the old
    default key is worthless."""
    settings = Settings(database_url=database_url, media_dir=tmp_path / "media",
                        rtmp_port=0, mail_backend="memory",
                        _env_file=None)  # type: ignore[call-arg, unused-ignore]
    assert settings.secret_key == ""
    db = Database(database_url)
    try:
        app: Any = create_app(settings, db)
        admin = TestClient(app)
        signed_up = admin.post("/api/v1/auth/signup", json={
            "email": "root@example.com", "password": "correct-horse-battery",
            "display_name": "Root"})
        assert signed_up.status_code == 201
        _grant_role(app, signed_up.json()["user"]["id"], "admin")
        cookie = admin.cookies[SESSION_COOKIE]
        assert admin.get("/api/v1/me").status_code == 200

        forged = TestClient(app, cookies={SESSION_COOKIE: _resigned(cookie, OLD_DEFAULT_SECRET)})
        assert forged.get("/api/v1/me").status_code == 401
        # The same session signed with the app's key works: only the key was wrong.
        resigned = TestClient(app, cookies={SESSION_COOKIE: _resigned(
            cookie, app_services(app).context.settings.secret_key)})
        assert resigned.get("/api/v1/me").status_code == 200
    finally:
        db.dispose()
