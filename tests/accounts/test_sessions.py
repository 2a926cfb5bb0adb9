"""Browser sessions live on the server: logging out, changing the password or being suspended
ends them at once, even for a copy of the cookie taken before (issue 16, item 7)."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from sqlalchemy import select, update

from liveshop.accounts.orm import UserSession
from liveshop.app import SESSION_COOKIE
from liveshop.core.db import Database, utcnow
from liveshop.services import app_services
from tests.conftest import DEFAULT_PASSWORD, UserClient
from tests.html import csrf_from

NEW_PASSWORD = "a-brand-new-passphrase"


def copy_of(app: Any, browser: Any) -> TestClient:
    """Another client holding a copy of ``browser``'s cookies (a stolen cookie)."""
    thief = TestClient(app)
    thief.cookies.update(browser.cookies)
    return thief


def log_in(app: Any, email: str, password: str = DEFAULT_PASSWORD) -> Any:
    """A second browser signed in to ``email``: (client, response)."""
    browser = TestClient(app)
    response = browser.post("/api/v1/auth/login", json={"email": email, "password": password})
    return browser, response


def signed_cookie(secret_key: str, session: dict[str, Any]) -> str:
    """A session cookie as Starlette's SessionMiddleware signs it."""
    data = base64.b64encode(json.dumps(session).encode())
    return TimestampSigner(secret_key).sign(data).decode()


def test_a_cookie_copied_before_logging_out_no_longer_works(app: Any, make_user: Any) -> None:
    ann = make_user()
    thief = copy_of(app, ann.http)
    assert thief.get("/api/v1/me").status_code == 200
    assert ann.post("/api/v1/auth/logout").status_code == 204
    assert thief.get("/api/v1/me").status_code == 401
    assert ann.get("/api/v1/me").status_code == 401


def test_logging_out_with_the_form_ends_the_session_too(app: Any, make_user: Any) -> None:
    ann = make_user()
    thief = copy_of(app, ann.http)
    token = csrf_from(ann.get("/account").text)
    assert ann.post("/logout", data={"csrf_token": token},
                    follow_redirects=False).status_code == 303
    assert thief.get("/api/v1/me").status_code == 401


def test_sessions_are_stored_hashed(app: Any, db: Database, make_user: Any) -> None:
    ann = make_user()
    cookie = ann.http.cookies[SESSION_COOKIE]
    payload = json.loads(base64.b64decode(cookie.split(".")[0]))
    with db.read() as session:
        stored = session.scalars(select(UserSession).where(
            UserSession.user_id == ann.id)).one()
    assert payload["sid"] not in stored.token_hash and len(stored.token_hash) == 64


def test_a_cookie_from_before_server_side_sessions_needs_a_new_log_in(
        app: Any, make_user: Any) -> None:
    """Cookies issued before revision 0003 hold only the user id: they name no session."""
    ann = make_user()
    old_style = TestClient(app, cookies={SESSION_COOKIE: signed_cookie(
        app_services(app).context.settings.secret_key, {"uid": ann.id})})
    assert old_style.get("/api/v1/me").status_code == 401


def test_a_password_change_ends_every_other_session_and_keeps_this_one(
        app: Any, make_user: Any) -> None:
    ann = make_user()
    phone, signed_in = log_in(app, ann.user["email"])
    assert signed_in.status_code == 200
    stolen = copy_of(app, phone)
    token = ann.post("/api/v1/tokens", json={"name": "script"}).json()["token"]

    wrong = ann.post("/api/v1/auth/password", json={
        "current_password": "not-my-password", "new_password": NEW_PASSWORD})
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "current_password"
    changed = ann.post("/api/v1/auth/password", json={
        "current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"sessions_ended": 1, "api_tokens_revoked": 0}

    assert phone.get("/api/v1/me").status_code == 401
    assert stolen.get("/api/v1/me").status_code == 401
    assert ann.get("/api/v1/me").status_code == 200  # the browser that changed it stays
    # API tokens are integrations made on purpose: they stay unless asked to go.
    assert TestClient(app).get("/api/v1/me", headers={
        "Authorization": f"Bearer {token}"}).status_code == 200
    assert log_in(app, ann.user["email"])[1].status_code == 401
    assert log_in(app, ann.user["email"], NEW_PASSWORD)[1].status_code == 200


def test_a_password_change_can_revoke_every_api_token(app: Any, make_user: Any) -> None:
    ann = make_user()
    token = ann.post("/api/v1/tokens", json={"name": "script"}).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    api = TestClient(app)
    assert api.get("/api/v1/me", headers=bearer).status_code == 200  # now remembered
    changed = ann.post("/api/v1/auth/password", json={
        "current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD,
        "revoke_api_tokens": True})
    assert changed.json()["api_tokens_revoked"] == 1
    assert api.get("/api/v1/me", headers=bearer).status_code == 401


def test_the_account_page_changes_the_password(app: Any, make_user: Any) -> None:
    ann = make_user()
    other, _ = log_in(app, ann.user["email"])
    token = csrf_from(ann.get("/account").text)
    page = ann.post("/account/password", data={
        "csrf_token": token, "current_password": DEFAULT_PASSWORD,
        "new_password": NEW_PASSWORD})
    assert page.status_code == 200 and "1 other session logged out" in page.text
    assert other.get("/api/v1/me").status_code == 401
    assert ann.get("/account").status_code == 200
    short = ann.post("/account/password", data={
        "csrf_token": token, "current_password": NEW_PASSWORD, "new_password": "short"})
    assert short.status_code == 422 and "new password" in short.text


def key() -> dict[str, str]:
    """A fresh Idempotency-Key, as the back office's writes take (liveshop/admin/api.py)."""
    return {"Idempotency-Key": uuid.uuid4().hex}


def test_suspension_ends_sessions_and_stops_api_tokens_at_once(
        app: Any, make_user: Any) -> None:
    admin, ann = make_user("admin"), make_user()
    thief = copy_of(app, ann.http)
    token = ann.post("/api/v1/tokens", json={"name": "script"}).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    api = TestClient(app)
    assert api.get("/api/v1/me", headers=bearer).status_code == 200  # remembered (TokenLookup)

    assert ann.post(f"/api/v1/admin/users/{admin.id}/suspend", headers=key()).status_code == 403
    assert admin.post(f"/api/v1/admin/users/{admin.id}/suspend",
                      headers=key()).status_code == 409
    suspended = admin.post(f"/api/v1/admin/users/{ann.id}/suspend", headers=key())
    assert suspended.status_code == 200 and suspended.json()["is_active"] is False
    for browser in (ann.http, thief):
        assert browser.get("/api/v1/me").status_code == 401
    assert api.get("/api/v1/me", headers=bearer).status_code == 401
    assert log_in(app, ann.user["email"])[1].status_code == 401

    reinstated = admin.post(f"/api/v1/admin/users/{ann.id}/reinstate", headers=key())
    assert reinstated.status_code == 200 and reinstated.json()["is_active"] is True
    assert thief.get("/api/v1/me").status_code == 401  # ended sessions stay ended
    assert api.get("/api/v1/me", headers=bearer).status_code == 200
    assert log_in(app, ann.user["email"])[1].status_code == 200


def test_an_idle_session_ends_and_use_is_stamped_in_a_batch(
        app: Any, db: Database, make_user: Any) -> None:
    ann: UserClient = make_user()

    def age_session(by: timedelta) -> Any:
        with db.transaction() as session:
            session.execute(update(UserSession).where(UserSession.user_id == ann.id)
                            .values(last_seen_at=utcnow() - by))
        return utcnow() - by

    def last_seen() -> Any:
        with db.read() as session:
            return session.scalars(select(UserSession.last_seen_at).where(
                UserSession.user_id == ann.id)).one()

    stale = age_session(timedelta(minutes=30))
    with TestClient(app) as server:
        server.cookies.update(ann.http.cookies)
        assert server.get("/api/v1/me").status_code == 200
        assert last_seen() <= stale  # not a write per request
    assert last_seen() > stale  # written in a batch (here: when the app stopped)

    age_session(timedelta(days=15))
    assert ann.get("/api/v1/me").status_code == 401
