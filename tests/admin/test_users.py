"""Users in the back office: search, roles, suspension; each action audited in its own
transaction, none for a refused one, and a retried request replays without a second row."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from liveshop.accounts.model import Actor, Role
from liveshop.admin import users
from liveshop.admin.schemas import RoleChangeIn
from liveshop.core.db import Database
from liveshop.core.errors import Forbidden
from tests.admin.conftest import admin_post, audit_rows, key
from tests.conftest import DEFAULT_PASSWORD


def test_search_finds_users_by_part_of_the_name_or_email(app: Any, make_user: Any) -> None:
    admin = make_user("admin")
    make_user(name="Zoë Quill", email="zoe.quill@example.com")
    make_user(name="Other Person")
    by_name = admin.get("/api/v1/admin/users", params={"q": "QUILL"}).json()
    by_mail = admin.get("/api/v1/admin/users", params={"q": "zoe.q"}).json()
    assert [u["email"] for u in by_name] == [u["email"] for u in by_mail] == [
        "zoe.quill@example.com"]
    assert admin.get("/api/v1/admin/users", params={"q": "100%_"}).json() == []


def test_a_role_change_is_audited_with_before_and_after(
        app: Any, db: Database, make_user: Any) -> None:
    admin, ann = make_user("admin", name="Ada Admin"), make_user()
    changed = admin.put(f"/api/v1/admin/users/{ann.id}/role",
                        json={"role": "seller", "reason": "Asked to sell"}, headers=key())
    assert changed.status_code == 200 and changed.json()["role"] == "seller"
    [row] = audit_rows(db)
    assert (row.action, row.actor_id, row.actor_name, row.target_type, row.target_id) == (
        "user.role_changed", admin.id, "Ada Admin", "user", ann.id)
    assert (row.before, row.after, row.reason) == (
        {"role": "buyer"}, {"role": "seller"}, "Asked to sell")
    assert row.target_label == ann.user["email"]
    assert ann.get("/api/v1/me").json()["role"] == "seller"


def test_an_admin_cannot_demote_or_suspend_themself_and_nothing_is_audited(
        app: Any, db: Database, make_user: Any) -> None:
    admin = make_user("admin")
    demote = admin.put(f"/api/v1/admin/users/{admin.id}/role", json={"role": "buyer"},
                       headers=key())
    suspend = admin_post(admin, f"/users/{admin.id}/suspend")
    for refused in (demote, suspend):
        assert refused.status_code == 409
        assert refused.json()["error"]["field"] == "user_id"
    assert audit_rows(db) == []
    other = make_user("admin")
    assert other.put(f"/api/v1/admin/users/{admin.id}/role", json={"role": "buyer"},
                     headers=key()).status_code == 200


def test_suspension_stops_log_in_sessions_and_tokens_at_once_and_is_audited(
        app: Any, db: Database, make_user: Any) -> None:
    admin, ann = make_user("admin"), make_user()
    token = ann.post("/api/v1/tokens", json={"name": "script"}).json()["token"]
    api = TestClient(app)
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/me", headers=bearer).status_code == 200  # now in the cache
    suspended = admin_post(admin, f"/users/{ann.id}/suspend", {"reason": "Fraud"})
    assert suspended.status_code == 200 and suspended.json()["is_active"] is False
    assert ann.get("/api/v1/me").status_code == 401
    assert api.get("/api/v1/me", headers=bearer).status_code == 401
    login = TestClient(app).post("/api/v1/auth/login", json={
        "email": ann.user["email"], "password": DEFAULT_PASSWORD})
    assert login.status_code == 401
    assert admin_post(admin, f"/users/{ann.id}/reinstate").status_code == 200
    rows = audit_rows(db)
    assert [(r.action, r.before, r.after) for r in rows] == [
        ("user.suspended", {"active": True}, {"active": False}),
        ("user.reinstated", {"active": False}, {"active": True})]
    assert rows[0].reason == "Fraud"


def test_a_retried_write_replays_and_writes_one_audit_row(
        app: Any, db: Database, make_user: Any) -> None:
    admin, ann = make_user("admin"), make_user()
    headers = key()
    first = admin.post(f"/api/v1/admin/users/{ann.id}/suspend", json={"reason": "x"},
                       headers=headers)
    again = admin.post(f"/api/v1/admin/users/{ann.id}/suspend", json={"reason": "x"},
                       headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(audit_rows(db, "user.suspended")) == 1
    other = admin.post(f"/api/v1/admin/users/{ann.id}/reinstate", headers=headers)
    assert other.status_code == 422 and other.json()["error"]["field"] == "Idempotency-Key"
    missing = admin.post(f"/api/v1/admin/users/{ann.id}/reinstate")
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "Idempotency-Key"


def test_bad_input_names_the_field(app: Any, make_user: Any) -> None:
    admin, ann = make_user("admin"), make_user()
    role = admin.put(f"/api/v1/admin/users/{ann.id}/role", json={"role": "king"},
                     headers=key())
    assert role.status_code == 422 and role.json()["error"]["field"] == "role"
    long = admin_post(admin, f"/users/{ann.id}/suspend", {"reason": "x" * 501})
    assert long.status_code == 422 and long.json()["error"]["field"] == "reason"
    nobody = admin_post(admin, "/users/999999/suspend")
    assert nobody.status_code == 404 and nobody.json()["error"]["field"] == "user_id"


def test_two_admins_demoting_each_other_at_once_leave_one_admin(
        app: Any, db: Database, make_user: Any) -> None:
    """Each request's actor was read as an admin before the other committed: the second to
    commit finds its admin demoted and acts no more (the admins' rows are locked)."""
    ada, bob = make_user("admin"), make_user("admin")
    as_read = {client.id: Actor(user_id=client.id, role=Role.ADMIN) for client in (ada, bob)}
    users.change_role(db, as_read[ada.id], bob.id, RoleChangeIn(role=Role.BUYER, reason=""))
    try:
        users.change_role(db, as_read[bob.id], ada.id, RoleChangeIn(role=Role.BUYER, reason=""))
    except Forbidden as refused:
        assert refused.code == "admin_only"
    else:
        raise AssertionError("a demoted admin demoted the last admin")
    assert ada.get("/api/v1/me").json()["role"] == "admin"
    assert [row.action for row in audit_rows(db)] == ["user.role_changed"]
