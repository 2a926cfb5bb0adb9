"""Outgoing mail behind a small interface, like payments and media: a development mailer that
writes each message to a file, and an in-memory one for tests. A production deployment adds
its provider (SMTP, an e-mail API) as another ``Mailer`` chosen by LIVESHOP_MAIL_BACKEND.
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol

from liveshop.core.config import Settings
from liveshop.core.db import utcnow

log = logging.getLogger("liveshop.mail")


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


class Mailer(Protocol):
    def send(self, mail: Mail) -> None:
        """Hand ``mail`` over for delivery; raise if it could not be."""


def as_message(mail: Mail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="liveshop.invalid")
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


def mailer_for(settings: Settings) -> Mailer:
    if settings.mail_backend == "memory":
        return MemoryMailer()
    return FileMailer(settings.mail_dir, settings.mail_from)


def send_logged(mailer: Mailer, mail: Mail) -> None:
    """Send after the response (a background task): a failure is logged, since nobody is
    waiting for it and the answer must not depend on it."""
    try:
        mailer.send(mail)
    except Exception:
        log.exception("sending mail to %s failed", mail.to)
