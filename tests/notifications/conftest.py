"""Orders to notify about (the orders tests' fixtures), the app's outbox relay and mailer, and
a real SMTP server on a free port (aiosmtpd) for the mail tests."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from liveshop.core.events import OutboxRelay
from liveshop.core.mail import MemoryMailer
from liveshop.services import app_services
from tests.orders.conftest import buyer, make_order, payments, seller, shop

__all__ = ["buyer", "make_order", "payments", "seller", "shop"]

SMTP_USER, SMTP_PASSWORD = "liveshop", "mail-password"


@pytest.fixture
def relay(app: Any) -> OutboxRelay:
    """The app's outbox relay: ``relay.deliver_due()`` is what the serving app runs."""
    return app_services(app).outbox


@pytest.fixture
def mailer(app: Any) -> MemoryMailer:
    sent = app_services(app).context.mailer
    assert isinstance(sent, MemoryMailer)
    return sent


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())


@dataclass
class Inbox:
    """What the SMTP server accepted, oldest first."""

    received: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(str(envelope.mail_from),
                                      [str(to) for to in envelope.rcpt_tos], message))
        return "250 OK"

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope,
                     mechanism: str, auth_data: Any) -> AuthResult:
        if (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == SMTP_USER
                and auth_data.password.decode() == SMTP_PASSWORD):
            self.logins.append(SMTP_USER)
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class SmtpServer:
    host: str
    port: int
    inbox: Inbox
    # Trusts the server's certificate (for STARTTLS and TLS).
    client_tls: ssl.SSLContext


@pytest.fixture(scope="session")
def certificate_authority() -> trustme.CA:
    return trustme.CA()


def _server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def _client_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def _serving(ca: trustme.CA, **options: Any) -> Iterator[SmtpServer]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port,
                            authenticator=inbox.authenticate, **options)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, inbox, _client_tls(ca))
    finally:
        controller.stop()


@pytest.fixture
def smtp_server(certificate_authority: trustme.CA) -> Iterator[SmtpServer]:
    """Plain SMTP (it also offers STARTTLS); logging in is allowed without TLS here only
    because the test is on loopback."""
    yield from _serving(certificate_authority, auth_require_tls=False,
                        tls_context=_server_tls(certificate_authority))


@pytest.fixture
def smtp_starttls_server(certificate_authority: trustme.CA) -> Iterator[SmtpServer]:
    """Refuses mail until the client has upgraded with STARTTLS."""
    yield from _serving(certificate_authority, require_starttls=True,
                        tls_context=_server_tls(certificate_authority))


@pytest.fixture
def smtps_server(certificate_authority: trustme.CA) -> Iterator[SmtpServer]:
    """TLS from the first byte (port 465 style)."""
    yield from _serving(certificate_authority,
                        ssl_context=_server_tls(certificate_authority))
