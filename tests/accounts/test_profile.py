"""A user renames their account or moves it to another e-mail address, from the API and from
the account page; a new address takes the current password."""

from __future__ import annotations

from typing import Any

from tests.conftest import DEFAULT_PASSWORD
from tests.html import csrf_from


def test_a_user_renames_the_account_without_a_password(make_user: Any) -> None:
    ann = make_user(name="Ann")
    renamed = ann.patch("/api/v1/me", json={"display_name": "  Ann Lee "})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["display_name"] == "Ann Lee"
    assert ann.get("/api/v1/me").json()["display_name"] == "Ann Lee"


def test_a_new_email_takes_the_current_password_and_then_logs_in(make_user: Any,
                                                                  client: Any) -> None:
    ann = make_user(email="ann@example.com")
    refused = ann.patch("/api/v1/me", json={"email": "ann.lee@example.com"})
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "current_password"
    wrong = ann.patch("/api/v1/me", json={"email": "ann.lee@example.com",
                                          "current_password": "not-the-password"})
    assert wrong.json()["error"]["field"] == "current_password"
    assert ann.get("/api/v1/me").json()["email"] == "ann@example.com"  # nothing changed

    moved = ann.patch("/api/v1/me", json={"email": "Ann.Lee@Example.com",
                                          "current_password": DEFAULT_PASSWORD})
    assert moved.status_code == 200 and moved.json()["email"] == "ann.lee@example.com"
    old = client.post("/api/v1/auth/login", json={"email": "ann@example.com",
                                                  "password": DEFAULT_PASSWORD})
    assert old.status_code == 401
    new = client.post("/api/v1/auth/login", json={"email": "ann.lee@example.com",
                                                  "password": DEFAULT_PASSWORD})
    assert new.status_code == 200


def test_an_address_another_account_has_is_a_conflict_naming_the_field(make_user: Any) -> None:
    make_user(email="taken@example.com")
    ann = make_user(email="ann@example.com")
    taken = ann.patch("/api/v1/me", json={"email": "TAKEN@example.com",
                                          "current_password": DEFAULT_PASSWORD})
    assert taken.status_code == 409 and taken.json()["error"]["field"] == "email"
    blank = ann.patch("/api/v1/me", json={"display_name": "   "})
    assert blank.status_code == 422 and blank.json()["error"]["field"] == "display_name"


def test_the_account_page_saves_the_profile_and_names_a_refused_field(make_user: Any) -> None:
    ann = make_user(name="Ann", email="ann@example.com")
    page = ann.get("/account")
    assert 'action="/account/profile"' in page.text and 'value="Ann"' in page.text
    form = {"csrf_token": csrf_from(page.text), "display_name": "Ann Lee",
            "email": "ann@example.com"}
    saved = ann.post("/account/profile", data=form)
    assert saved.status_code == 200 and "Profile saved." in saved.text
    assert 'value="Ann Lee"' in saved.text
    refused = ann.post("/account/profile", data={**form, "email": "ann2@example.com"})
    assert refused.status_code == 422 and "current password" in refused.text.lower()
    assert ann.get("/api/v1/me").json()["email"] == "ann@example.com"
