"""Mail goes out through a real SMTP server (aiosmtpd on a free port): in the clear, after
STARTTLS or over TLS from the start, logging in when a username is set; an order's mails
reach it through the outbox, and a server that is down only delays them."""

from __future__ import annotations

import smtplib
import ssl
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select, update

from liveshop.app import create_app
from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.core.events import OutboxMessage, Undeliverable
from liveshop.core.mail import Mail, SmtpMailer, mailer_for
from liveshop.services import app_services
from tests.notifications.conftest import SMTP_PASSWORD, SMTP_USER, SmtpServer, free_port
from tests.orders.conftest import OrderFactory, Shop

MAIL = Mail(to="ann@example.com", subject="Your order LS-ABC123 has shipped",
            text="Your order LS-ABC123 is on its way.", key="order-shipped-7")
SENDER = "liveshop <no-reply@shop.example>"


def _received_one(server: SmtpServer) -> None:
    [received] = server.inbox.received
    assert received.recipients == ["ann@example.com"]
    assert received.sender == "no-reply@shop.example"
    assert received.message["Subject"] == "Your order LS-ABC123 has shipped"
    assert received.message["Message-ID"] == "<order-shipped-7@liveshop.invalid>"
    assert "LS-ABC123 is on its way" in received.body


def test_smtp_in_the_clear_with_a_login(smtp_server: SmtpServer) -> None:
    SmtpMailer(smtp_server.host, smtp_server.port, SENDER, security="none",
               username=SMTP_USER, password=SMTP_PASSWORD).send(MAIL)
    _received_one(smtp_server)
    assert smtp_server.inbox.logins == [SMTP_USER]


def test_a_wrong_password_raises(smtp_server: SmtpServer) -> None:
    mailer = SmtpMailer(smtp_server.host, smtp_server.port, SENDER, security="none",
                        username=SMTP_USER, password="wrong")
    with pytest.raises(smtplib.SMTPAuthenticationError):
        mailer.send(MAIL)
    assert smtp_server.inbox.received == []


def test_smtp_upgraded_with_starttls(smtp_starttls_server: SmtpServer) -> None:
    server = smtp_starttls_server
    SmtpMailer(server.host, server.port, SENDER, security="starttls",
               username=SMTP_USER, password=SMTP_PASSWORD,
               tls_context=server.client_tls).send(MAIL)
    _received_one(server)
    # Without STARTTLS this server takes nothing: a setting to fix, so the mail waits.
    with pytest.raises(smtplib.SMTPException) as refused:
        SmtpMailer(server.host, server.port, SENDER, security="none").send(MAIL)
    assert not isinstance(refused.value, Undeliverable)


def test_a_mailbox_refused_for_good_is_undeliverable(smtp_server: SmtpServer) -> None:
    mailer = SmtpMailer(smtp_server.host, smtp_server.port, SENDER, security="none",
                        username=SMTP_USER, password=SMTP_PASSWORD)
    with pytest.raises(Undeliverable, match="550"):
        mailer.send(Mail(to="nobody@example.com", subject="Hello", text="Hi", key="k-1"))
    assert smtp_server.inbox.received == []


def test_smtp_over_tls_from_the_start(smtps_server: SmtpServer) -> None:
    SmtpMailer(smtps_server.host, smtps_server.port, SENDER, security="tls",
               tls_context=smtps_server.client_tls).send(MAIL)
    _received_one(smtps_server)


def test_a_certificate_nobody_vouches_for_is_refused(smtps_server: SmtpServer) -> None:
    with pytest.raises(ssl.SSLError):
        SmtpMailer(smtps_server.host, smtps_server.port, SENDER, security="tls").send(MAIL)
    assert smtps_server.inbox.received == []


def test_the_settings_choose_the_smtp_mailer(settings: Settings) -> None:
    mailer = mailer_for(settings.model_copy(update={
        "mail_backend": "smtp", "smtp_host": "mail.example", "smtp_port": 465,
        "smtp_security": "tls", "smtp_username": "u",
        "smtp_password": SecretStr("hunter2-secret")}))
    assert isinstance(mailer, SmtpMailer)
    assert (mailer.host, mailer.port, mailer.security, mailer.username) == (
        "mail.example", 465, "tls", "u")
    # Settings printed (a log, a traceback) keep the password to themselves.
    shown = settings.model_copy(update={"smtp_password": SecretStr("hunter2-secret")})
    assert "hunter2-secret" not in repr(shown)


@pytest.fixture
def smtp_app(settings: Settings, db: Database, smtp_server: SmtpServer) -> Any:
    return create_app(settings.model_copy(update={
        "mail_backend": "smtp", "smtp_host": smtp_server.host, "smtp_port": smtp_server.port,
        "smtp_security": "none", "smtp_username": SMTP_USER,
        "smtp_password": SecretStr(SMTP_PASSWORD), "smtp_timeout_seconds": 5.0,
        "public_url": "https://shop.example"}), db)


def test_a_shipped_order_is_mailed_through_smtp_after_a_server_outage(
        smtp_app: Any, smtp_server: SmtpServer, db: Database, make_order: OrderFactory,
        shop: Shop, buyer: Any) -> None:
    # The seller's request may reach any app process; smtp_app's relay sends the mail.
    relay = app_services(smtp_app).outbox
    mailer = app_services(smtp_app).context.mailer
    assert isinstance(mailer, SmtpMailer)
    working_port, mailer.port = mailer.port, free_port()  # nobody listens there: "down"
    order_id = make_order()
    shipped = shop.seller.post(f"/api/v1/orders/{order_id}/ship",
                               json={"carrier": "DHL", "tracking_number": "00340434"})
    assert shipped.status_code == 200, shipped.text
    relay.deliver_due()
    assert smtp_server.inbox.received == []
    with db.read() as session:
        [waiting] = session.scalars(select(OutboxMessage).where(
            OutboxMessage.delivered_at.is_(None))).all()
    assert waiting.topic.endswith("MailQueued") and waiting.last_error

    mailer.port = working_port  # the server is back; the retry is due
    with db.transaction() as session:
        session.execute(update(OutboxMessage).values(lease_until=utcnow()))
    assert relay.deliver_due() == 1
    [received] = smtp_server.inbox.received
    number = shipped.json()["number"]
    assert received.recipients == [buyer.user["email"]]
    assert received.message["Subject"] == f"Your order {number} has shipped"
    assert number in received.body and "DHL" in received.body
    assert f"https://shop.example/orders/{order_id}" in received.body
