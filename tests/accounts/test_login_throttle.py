"""Wrong passwords slow their source down and never lock the owner out: a browser that
signed in before (device cookie) or an e-mailed one-time link still gets in (issue 16,
item 10; OWASP "Slow Down Online Guessing Attacks with Device Cookies")."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from liveshop.accounts.devices import DEVICE_COOKIE
from liveshop.accounts.model import Backoff
from liveshop.accounts.orm import LoginLink
from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.core.mail import Mail
from liveshop.core.ratelimit import MemoryRateLimiter
from liveshop.services import app_services
from tests.conftest import DEFAULT_PASSWORD
from tests.html import csrf_from

LINK = re.compile(r"(https?://[^/\s]+)/login/link\?token=([\w-]+)")


def browser(app: Any, ip: str) -> TestClient:
    """A browser that never signed in here, at address ``ip``."""
    return TestClient(app, client=(ip, 50000))


def log_in(client: TestClient, email: str, password: str) -> Any:
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def outbox(app: Any) -> list[Mail]:
    mails: list[Mail] = app_services(app).context.mailer.outbox
    return mails


def guess_from_a_crowd(app: Any, email: str, settings: Settings) -> None:
    """Enough wrong passwords, each from another address, to slow every unknown browser."""
    for number in range(settings.login_failures_per_account):
        assert log_in(browser(app, f"198.51.100.{number + 1}"), email,
                      f"guess-number-{number}").status_code == 401


def test_backoff_grows_and_is_capped() -> None:
    backoff = Backoff(free=3, cap_seconds=60)
    assert [backoff.wait_seconds(failures, 0) for failures in range(3)] == [0, 0, 0]
    assert [backoff.wait_seconds(failures, 0) for failures in range(3, 10)] == [
        1, 2, 4, 8, 16, 32, 60]
    assert backoff.wait_seconds(5, seconds_since_last=3) == 1
    assert backoff.wait_seconds(10_000, seconds_since_last=0) == 60


def test_one_source_is_slowed_down_more_with_each_failure(
        app: Any, make_user: Any, settings: Settings) -> None:
    email = make_user().user["email"]
    clock = [1000.0]
    app_services(app).context.limiter = MemoryRateLimiter(clock=lambda: clock[0])
    attacker = browser(app, "203.0.113.9")
    for _ in range(settings.login_failures_per_source):
        assert log_in(attacker, email, "wrong-password-1").status_code == 401
    waits = []
    for _ in range(4):
        refused = log_in(attacker, email, DEFAULT_PASSWORD)  # even the right one must wait
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        waits.append(int(refused.headers["Retry-After"]))
        clock[0] += waits[-1]
        assert log_in(attacker, email, "wrong-password-2").status_code == 401
    assert waits == [1, 2, 4, 8]
    # A slowed source is not locked: after its wait, the right password gets in.
    clock[0] += 16
    assert log_in(attacker, email, DEFAULT_PASSWORD).status_code == 200


def test_a_crowd_of_guessers_cannot_lock_the_owner_out_of_a_known_browser(
        app: Any, make_user: Any, settings: Settings) -> None:
    owner = make_user()  # signed up in this browser: it carries a device cookie
    email = owner.user["email"]
    guess_from_a_crowd(app, email, settings)
    # Unknown browsers now wait, however many addresses they come from...
    stranger = log_in(browser(app, "192.0.2.200"), email, DEFAULT_PASSWORD)
    assert stranger.status_code == 429
    assert "link" in stranger.json()["error"]["message"]
    # ...but the owner's browser is known, and its own record is clean.
    assert log_in(owner.http, email, DEFAULT_PASSWORD).status_code == 200


def test_a_known_browser_counts_only_its_own_failures_then_is_distrusted(
        app: Any, make_user: Any, settings: Settings) -> None:
    owner = make_user()
    email = owner.user["email"]
    for _ in range(settings.login_failures_per_source):
        assert log_in(owner.http, email, "fat-fingered-1").status_code == 401
    # Its failures did not slow anybody else down.
    assert log_in(browser(app, "192.0.2.77"), email, DEFAULT_PASSWORD).status_code == 200
    # A stolen device cookie gives no endless guesses: after its failures the browser counts
    # as unknown, so a crowd's slowdown of the account applies to it.
    guess_from_a_crowd(app, email, settings)
    assert log_in(owner.http, email, DEFAULT_PASSWORD).status_code == 429


def test_the_log_in_form_is_throttled_the_same_way(app: Any, make_user: Any,
                                                   settings: Settings) -> None:
    email = make_user().user["email"]
    attacker = browser(app, "203.0.113.10")
    token = csrf_from(attacker.get("/login").text)
    for _ in range(settings.login_failures_per_source):
        wrong = attacker.post("/login", data={"csrf_token": token, "email": email,
                                              "password": "wrong-password-1"})
        assert wrong.status_code == 401
    slowed = attacker.post("/login", data={"csrf_token": token, "email": email,
                                           "password": DEFAULT_PASSWORD})
    assert slowed.status_code == 429 and "sign-in link" in slowed.text


# --- e-mailed one-time sign-in links ---


def ask_for_link(client: TestClient, email: str) -> Any:
    return client.post("/api/v1/auth/login-link", json={"email": email})


def follow(client: TestClient, url: str) -> Any:
    """Open the link (a page with a button, so a mail scanner cannot use it up) and press
    the button."""
    found = LINK.search(url)
    assert found
    page = client.get(f"/login/link?token={found.group(2)}")  # the test client's own host
    assert page.status_code == 200
    return client.post("/login/link", data={"csrf_token": csrf_from(page.text),
                                            "token": found.group(2)}, follow_redirects=False)


def test_asking_for_a_link_tells_nothing_about_the_address(app: Any, make_user: Any) -> None:
    email = make_user().user["email"]
    known = ask_for_link(browser(app, "192.0.2.1"), email)
    unknown = ask_for_link(browser(app, "192.0.2.2"), "nobody-here@example.com")
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert [mail.to for mail in outbox(app)] == [email]


def test_a_link_signs_in_once_and_makes_the_browser_known(
        app: Any, make_user: Any, settings: Settings) -> None:
    owner = make_user()
    email = owner.user["email"]
    guess_from_a_crowd(app, email, settings)
    new_laptop = browser(app, "192.0.2.50")
    assert log_in(new_laptop, email, DEFAULT_PASSWORD).status_code == 429

    assert ask_for_link(new_laptop, email).status_code == 202
    [mail] = outbox(app)
    found = LINK.search(mail.text)
    assert found and found.group(1) == settings.public_url.rstrip("/")
    signed_in = follow(new_laptop, found.group(0))
    assert signed_in.status_code == 303
    assert new_laptop.get("/api/v1/me").json()["email"] == email
    assert DEVICE_COOKIE in new_laptop.cookies
    # The laptop is known now: its password log-in is not slowed by the crowd.
    assert log_in(new_laptop, email, DEFAULT_PASSWORD).status_code == 200
    # Used once: a second use (or a copy of the mail) signs nobody in.
    again = follow(browser(app, "192.0.2.51"), found.group(0))
    assert again.status_code == 401 and "ask for a new one" in again.text


def test_a_link_expires(app: Any, db: Database, make_user: Any) -> None:
    email = make_user().user["email"]
    ask_for_link(browser(app, "192.0.2.60"), email)
    [mail] = outbox(app)
    with db.transaction() as session:
        session.execute(update(LoginLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    found = LINK.search(mail.text)
    assert found
    assert follow(browser(app, "192.0.2.60"), found.group(0)).status_code == 401


def test_a_link_points_at_the_site_never_at_the_host_header(
        app: Any, make_user: Any, settings: Settings) -> None:
    """A forged Host header must not aim the victim's link at the attacker's site."""
    email = make_user().user["email"]
    assert browser(app, "192.0.2.70").post(
        "/api/v1/auth/login-link", json={"email": email},
        headers={"Host": "evil.example"}).status_code == 202
    [mail] = outbox(app)
    assert "evil.example" not in mail.text
    assert f"{settings.public_url.rstrip('/')}/login/link?token=" in mail.text


def test_links_are_limited_per_address_and_suspended_users_get_none(
        app: Any, make_user: Any) -> None:
    admin, ann = make_user("admin"), make_user()
    answers = [ask_for_link(browser(app, f"192.0.2.{90 + n}"), ann.user["email"]).status_code
               for n in range(4)]
    assert answers == [202, 202, 202, 429]  # a mailbox is not to be flooded
    assert len(outbox(app)) == 3
    bob = make_user()
    assert admin.post(f"/api/v1/admin/users/{bob.id}/suspend",
                      headers={"Idempotency-Key": f"suspend-{bob.id}"}).status_code == 200
    assert ask_for_link(browser(app, "192.0.2.99"), bob.user["email"]).status_code == 202
    assert len(outbox(app)) == 3


def test_the_log_in_page_sends_a_link(app: Any, make_user: Any) -> None:
    email = make_user().user["email"]
    visitor = browser(app, "192.0.2.120")
    assert 'href="/login/link/send"' in visitor.get("/login").text
    token = csrf_from(visitor.get("/login/link/send").text)
    page = visitor.post("/login/link/send", data={"csrf_token": token, "email": email})
    assert page.status_code == 200 and "sign-in link is on its way" in page.text
    assert [mail.to for mail in outbox(app)] == [email]
