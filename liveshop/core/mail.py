"""Outgoing mail behind a small interface, like payments and media: an SMTP mailer for
production, a development mailer that writes each message to a file (the demo shows them at
/outbox), and an in-memory one for tests, chosen by LIVESHOP_MAIL_BACKEND (docs/deploy.md).
Another provider (an e-mail API) is another ``Mailer``.
"""

from __future__ import annotations

import email.policy
import logging
import secrets
import smtplib
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate, make_msgid, parsedate_to_datetime
from pathlib import Path
from typing import Literal, Protocol

from liveshop.core.config import Settings
from liveshop.core.db import utcnow
from liveshop.core.events import Undeliverable

log = logging.getLogger("liveshop.mail")


# Message-IDs of mails sent again (a retry after a crash) repeat the first one's, so mail
# clients show the copies as one message.
MESSAGE_ID_DOMAIN = "liveshop.invalid"


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    # A key naming this mail for good (e.g. "order-shipped-42"): its Message-ID is built
    # from it, so a copy sent again is the same message. None: a fresh Message-ID.
    key: str | None = None


class Mailer(Protocol):
    def send(self, mail: Mail) -> None:
        """Hand ``mail`` over for delivery; raise if it could not be."""


def as_message(mail: Mail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = (f"<{mail.key}@{MESSAGE_ID_DOMAIN}>" if mail.key
                             else make_msgid(domain=MESSAGE_ID_DOMAIN))
    message.set_content(mail.text)
    return message


class FileMailer:
    """Development: each message becomes an ``.eml`` file under ``directory`` (open it with a
    mail client or read it as text); the log says where."""

    def __init__(self, directory: Path, sender: str):
        self.directory, self.sender = directory, sender

    def send(self, mail: Mail) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{utcnow():%Y%m%dT%H%M%S}-{secrets.token_hex(4)}.eml"
        path = self.directory / name
        path.write_bytes(bytes(as_message(mail, self.sender)))
        path.chmod(0o600)  # sign-in links are credentials
        log.info("mail to %s (%s) written to %s", mail.to, mail.subject, path)


class MemoryMailer:
    """Tests: messages are kept in ``outbox``, oldest first."""

    def __init__(self) -> None:
        self.outbox: list[Mail] = []
        self._lock = threading.Lock()

    def send(self, mail: Mail) -> None:
        with self._lock:
            self.outbox.append(mail)


SmtpSecurity = Literal["none", "starttls", "tls"]
# SMTP answers refusing a message or its mailbox for good (RFC 5321, 4.2.3).
REFUSED_FOR_GOOD = frozenset({550, 551, 552, 553, 554})


class SmtpMailer:
    """Production: each message goes to an SMTP server (a provider's relay or the host's
    MTA), over TLS from the start (``tls``, port 465), upgraded with STARTTLS
    (``starttls``, port 587) or in the clear (``none``: a relay on this host), logging in
    when a username is set. One connection per message: mails are few and come from the
    outbox relay's mail lane. A failure raises, so the relay tries again later, except a
    permanent refusal of this message (550-554: no such mailbox, mailbox full, address not
    allowed, message rejected), which raises ``Undeliverable``: sending it again would be
    refused again. Other 5xx answers (a refused log-in, "STARTTLS first") are the platform's
    settings to fix, so those mails wait and are retried."""

    def __init__(self, host: str, port: int, sender: str, *, security: SmtpSecurity,
                 username: str = "", password: str = "", timeout: float = 30.0,
                 tls_context: ssl.SSLContext | None = None) -> None:
        self.host, self.port, self.sender, self.security = host, port, sender, security
        self.username, self._password, self.timeout = username, password, timeout
        # Certificates are checked against the system's authorities (tests pass their own).
        self._tls = tls_context or ssl.create_default_context()

    def send(self, mail: Mail) -> None:
        try:
            self._send(mail)
        except smtplib.SMTPRecipientsRefused as refused:
            if all(code in REFUSED_FOR_GOOD for code, _ in refused.recipients.values()):
                raise Undeliverable(f"{mail.to} refused: {refused.recipients}") from refused
            raise
        except smtplib.SMTPResponseException as answer:
            if answer.smtp_code in REFUSED_FOR_GOOD:
                raise Undeliverable(f"mail to {mail.to} refused: {answer.smtp_code} "
                                    f"{answer.smtp_error!r}") from answer
            raise

    def _send(self, mail: Mail) -> None:
        message = as_message(mail, self.sender)
        smtp: smtplib.SMTP = (
            smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._tls)
            if self.security == "tls" else smtplib.SMTP(self.host, self.port,
                                                        timeout=self.timeout))
        with smtp:
            if self.security == "starttls":
                smtp.starttls(context=self._tls)
            if self.username:
                smtp.login(self.username, self._password)
            refused = smtp.send_message(message)
        if refused:  # some recipients taken, some not: there is only ever one
            raise smtplib.SMTPRecipientsRefused(refused)
        log.info("mail to %s (%s) handed to %s:%d", mail.to, mail.subject, self.host,
                 self.port)


def mailer_for(settings: Settings) -> Mailer:
    if settings.mail_backend == "memory":
        return MemoryMailer()
    if settings.mail_backend == "smtp":
        return SmtpMailer(settings.smtp_host, settings.smtp_port, settings.mail_from,
                          security=settings.smtp_security, username=settings.smtp_username,
                          password=settings.smtp_password.get_secret_value(),
                          timeout=settings.smtp_timeout_seconds)
    return FileMailer(settings.mail_dir, settings.mail_from)


@dataclass(frozen=True)
class StoredMail:
    """A message the file mailer wrote, as a page shows it."""

    name: str
    to: str
    subject: str
    sent_at: str
    text: str


def read_file_outbox(directory: Path, limit: int = 50, to: str = "",
                     scanned: int = 2000) -> list[StoredMail]:
    """The newest ``limit`` messages FileMailer wrote under ``directory`` (to ``to`` only,
    when given, among the newest ``scanned``), newest first."""
    if not directory.is_dir():
        return []
    mails: list[StoredMail] = []
    for path in sorted(directory.glob("*.eml"), reverse=True)[:scanned]:
        if len(mails) == limit:
            break
        message = BytesParser(policy=email.policy.default).parsebytes(path.read_bytes())
        if to and str(message["To"] or "").lower() != to.lower():
            continue
        body = message.get_body(preferencelist=("plain",)) if isinstance(
            message, EmailMessage) else None
        date = message["Date"]
        mails.append(StoredMail(
            name=path.name, to=str(message["To"] or ""), subject=str(message["Subject"] or ""),
            sent_at=f"{parsedate_to_datetime(date):%d %b %Y, %H:%M} UTC" if date else "",
            text=body.get_content() if body is not None else ""))
    return mails


def send_logged(mailer: Mailer, mail: Mail) -> None:
    """Send after the response (a background task): a failure is logged, since nobody is
    waiting for it and the answer must not depend on it."""
    try:
        mailer.send(mail)
    except Exception:
        log.exception("sending mail to %s failed", mail.to)
