"""A show going live mails those who follow its shop or host or asked to be reminded (the
notice in the centre was there already); the demo's mail, written instead of sent, is shown
at /outbox to this machine alone, only when the setting is on."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from liveshop.app import create_app
from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.core.events import OutboxRelay
from liveshop.core.mail import FileMailer, Mail, MemoryMailer
from liveshop.demo.catalog import DEMO_PASSWORD
from liveshop.demo.seed import seed_demo
from liveshop.services import app_services
from tests.factories import VariantSpec, create_product, create_shop

HTML = {"Accept": "text/html"}


def test_going_live_mails_followers_and_the_reminded_once_each(
        db: Database, make_user: Any, relay: OutboxRelay, mailer: MemoryMailer) -> None:
    seller = make_user("seller", name="Sam Seller")
    shop_id = create_shop(db, seller.id, {"UK": 399}, name="Tee Shop")
    product_id, _ = create_product(db, shop_id, [VariantSpec(prices={"UK": 2000})])
    show = seller.post("/api/v1/shows", json={
        "shop_id": shop_id, "title": "Winter knits", "markets": ["UK"],
        "scheduled_at": (utcnow() + timedelta(hours=1)).isoformat(),
        "product_ids": [product_id]}).json()
    fan, reminded, both, stranger = (make_user() for _ in range(4))
    assert fan.put(f"/api/v1/shops/{shop_id}/follow").status_code == 200
    assert reminded.put(f"/api/v1/shows/{show['id']}/reminder").status_code == 200
    both.put(f"/api/v1/shops/{shop_id}/follow")
    both.put(f"/api/v1/shows/{show['id']}/reminder")
    assert seller.post(f"/api/v1/shows/{show['id']}/live").status_code == 200
    relay.deliver_due()
    assert sorted(mail.to for mail in mailer.outbox) == sorted(
        person.user["email"] for person in (fan, reminded, both))
    mail = mailer.outbox[0]
    assert mail.subject == "Live now: Winter knits"
    assert "Tee Shop is live now: Winter knits" in mail.text
    assert f"http://127.0.0.1:8000/shows/{show['id']}" in mail.text
    assert stranger.get("/api/v1/notifications").json() == []


def _outbox_app(settings: Settings, db: Database, tmp_path: Path, on: bool) -> Any:
    return create_app(settings.model_copy(update={
        "mail_backend": "file", "mail_dir": tmp_path / "mail", "mail_outbox_page": on}), db)


def test_the_outbox_page_shows_written_mail_to_this_machine_only(
        settings: Settings, db: Database, tmp_path: Path) -> None:
    app = _outbox_app(settings, db, tmp_path, on=True)
    sent = app_services(app).context.mailer
    assert isinstance(sent, FileMailer)
    sent.send(Mail(to="ben@example.com", subject="Order LS-ABC123 confirmed",
                   text="Thank you for your order LS-ABC123.", key="order-paid-1"))
    sent.send(Mail(to="lena@example.com", subject="Live now: Hoodies", text="Join the show"))
    local = TestClient(app, client=("127.0.0.1", 50000))
    page = local.get("/outbox", headers=HTML)
    assert page.status_code == 200
    assert "Order LS-ABC123 confirmed" in page.text and "To ben@example.com" in page.text
    assert "Thank you for your order LS-ABC123." in page.text
    assert "Live now: Hoodies" in page.text
    only_ben = local.get("/outbox?to=ben@example.com", headers=HTML).text
    assert "LS-ABC123" in only_ben and "Live now: Hoodies" not in only_ben
    elsewhere = TestClient(app, client=("203.0.113.9", 50000))
    assert elsewhere.get("/outbox", headers=HTML).status_code == 404


def test_without_the_setting_there_is_no_outbox_page(settings: Settings, db: Database,
                                                     tmp_path: Path) -> None:
    app = _outbox_app(settings, db, tmp_path, on=False)
    local = TestClient(app, client=("127.0.0.1", 50000))
    assert local.get("/outbox", headers=HTML).status_code == 404


def test_the_demo_has_mail_in_its_outbox_and_unread_notices_for_its_buyer(
        settings: Settings, db: Database, tmp_path: Path) -> None:
    app = _outbox_app(settings, db, tmp_path, on=True)
    seed_demo(db, settings)
    # What the demo app's relay does as it starts serving.
    app_services(app).outbox.deliver_due()
    local = TestClient(app, client=("127.0.0.1", 50000))
    outbox = local.get("/outbox?to=ben@example.com", headers=HTML).text
    assert "has shipped" in outbox and "confirmed" in outbox and "Refund of" in outbox
    page = local.get("/login").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    local.post("/login", data={"csrf_token": token, "email": "ben@example.com",
                               "password": DEMO_PASSWORD})
    home = local.get("/", headers=HTML).text
    assert 'href="/notifications" class="nav-link" aria-label="Alerts, ' in home
    centre = local.get("/notifications", headers=HTML).text
    assert centre.count('class="unread"') >= 4 and "has shipped" in centre
