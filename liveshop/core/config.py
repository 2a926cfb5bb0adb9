"""Settings read from the environment (prefix ``LIVESHOP_``)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Session and device cookies are signed with the secret key: anyone who knows it can sign a
# cookie. A serving process refuses a missing, short or placeholder one (check_secret_key).
MIN_SECRET_KEY_LENGTH = 32
# Words of the placeholders people paste from examples (compared without case or separators).
PLACEHOLDER_MARKERS = ("changeme", "insecure", "replaceme", "placeholder", "example",
                       "secretkey", "yoursecret", "notsecret")
SECRET_KEY_HINT = ("e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIVESHOP_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///var/liveshop.db"
    # No default: a serving process refuses to start without a strong one, and `liveshop
    # demo` makes one in var/secret_key. An app built without one (tests, scripts) signs with
    # a random key of its own process.
    secret_key: str = ""
    media_dir: Path = Path("var/media")
    # Reservations that are not paid within this many seconds go back to stock.
    reservation_ttl_seconds: int = 600
    # Units of one variant one buyer may put in the cart, check out in one line or buy in
    # one tap (liveshop/checkout/model.py validate_quantity).
    max_units_per_variant: int = Field(default=10, ge=1, le=999)
    max_upload_bytes: int = 5 * 1024 * 1024
    # Cookies are marked Secure when the site is served over HTTPS.
    secure_cookies: bool = False
    # Log-in attempts from one IP, whatever the account (refused beyond, for the window).
    login_attempts_per_ip: int = 20
    login_window_seconds: int = 300
    # Failed log-ins are slowed down, never locked (accounts/model.py LoginThrottle): after
    # this many failures of one account from one IP (or one known browser), each further try
    # from there waits 1, 2, 4 ... s after the last failure, up to login_max_delay_seconds;
    login_failures_per_source: int = 3
    # and after this many failures of one account from browsers it does not know, every such
    # browser waits. Browsers that signed in to it before, and e-mailed links, still get in.
    login_failures_per_account: int = 10
    login_max_delay_seconds: int = 300
    # How long a failed log-in counts.
    login_failure_window_seconds: int = 900
    # An e-mailed sign-in link works once, for this long.
    login_link_ttl_seconds: int = 900
    # The site's address as people reach it, for links in e-mails (never taken from the
    # request's Host header, which a client can forge to aim a link at its own site).
    public_url: str = "http://127.0.0.1:8000"
    # Outgoing mail (core/mail.py): "smtp" sends through the SMTP server below (production),
    # "file" writes each message under mail_dir (development, the demo), "memory" keeps them
    # in the process (tests).
    mail_backend: Literal["file", "memory", "smtp"] = "file"
    mail_dir: Path = Path("var/mail")
    # The sender of every message (the From header and the SMTP envelope).
    mail_from: str = "liveshop <no-reply@localhost>"
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    # "starttls": plain connection upgraded with STARTTLS (port 587); "tls": TLS from the
    # first byte (port 465); "none": no encryption (a relay on the same host only).
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    # Empty: the server takes mail without logging in.
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_timeout_seconds: float = 30.0
    # The page /outbox shows the messages mail_dir holds, to visitors on this machine
    # (the demo turns it on; its mails are never sent). Off: /outbox is a 404.
    mail_outbox_page: bool = False
    # The test provider's own ledger (a separate database, as a real provider is separate);
    # empty: in memory. Lets its idempotency hold across processes and restarts.
    test_provider_url: str = ""
    # Several app processes share rooms, viewer counts and rate limits through Redis.
    redis_url: str = ""
    # Payouts (liveshop/payouts/model.py): a delivered order's money is held this many days
    # in markets without a statutory withdrawal period (the US) before it is paid out; UK and
    # EU orders wait out their 14-day withdrawal period.
    payout_hold_days: int = Field(default=7, ge=0, le=90)
    # A retried request whose first attempt is still "running" after this long belongs to a
    # process that died mid-request; the retry takes the key over.
    idempotency_abandoned_seconds: float = 60.0
    # A flash-sale purchase being paid for is held by one process this long; if that process
    # dies, another pays for it after this (liveshop/live/purchase_settlement.py).
    sale_settlement_lease_seconds: float = 30.0
    # Room sockets one client may hold open per app process (docs/live-protocol.md): per
    # address (generous: a shop floor or a campus shares one) and per signed-in user (a few tabs).
    room_sockets_per_ip: int = 200
    room_sockets_per_user: int = 10
    # Live video (docs/video.md): RTMP ingest (port 0 disables it), reconnect grace, HLS.
    # Whether this process takes publishers (RTMP, browser) and supervises their streams.
    # In a multi-process deployment only the ingest process does (docs/deploy.md).
    video_ingest: bool = True
    rtmp_host: str = "127.0.0.1"
    rtmp_port: int = 1935
    # What hosts type into OBS; empty: rtmp://<the site's host name>:<rtmp_port>/live.
    rtmp_public_url: str = ""
    video_grace_seconds: float = 60.0
    video_ladder: bool = False
    hls_base_url: str = ""
    recording_retention_days: int = 30
    # Connected Shopify stores (docs/shopify.md, section 2). Admin API access tokens are
    # stored encrypted with this Fernet key (Fernet.generate_key()); empty: a key derived
    # from secret_key (then changing secret_key loses the stored tokens: set one).
    shopify_token_key: SecretStr = SecretStr("")
    # The app's API secret: webhooks are signed with it (X-Shopify-Hmac-Sha256).
    shopify_app_secret: SecretStr = SecretStr("")
    shopify_api_version: str = "2025-01"
    # A store on a loopback address over plain http (the fake Shopify of the tests and the
    # demo); never in production.
    shopify_allow_http: bool = False
    # Calls that fail with a 5xx or a broken connection are tried this many times, waiting
    # a random time up to base * 2**attempt between tries.
    shopify_attempts: int = Field(default=5, ge=1, le=10)
    shopify_retry_base_seconds: float = 0.5
    # The feed (docs/feed.md): how often an app process retrains the item-to-item model
    # from the interaction events (0: never; then `liveshop feed train` from cron), how
    # long raw events are kept before `liveshop feed prune` summarises and deletes them,
    # how many events a process queues for its writer before it drops (and counts) more,
    # and how many batches of events one visitor may send per minute.
    feed_train_interval_seconds: float = Field(default=3600.0, ge=0)
    feed_event_retention_days: int = Field(default=180, ge=1)
    feed_event_queue: int = Field(default=50_000, ge=100)
    feed_event_batches_per_minute: int = Field(default=60, ge=1)


@lru_cache
def get_settings() -> Settings:
    return Settings()


class InsecureSecretKey(RuntimeError):
    """The secret key would let others sign session cookies; the message is one line."""


def secret_key_problem(secret: str) -> str | None:
    """Why ``secret`` must not sign cookies in a serving process, or None if it may."""
    if not secret.strip():
        return f"LIVESHOP_SECRET_KEY is not set; set it to a long random value ({SECRET_KEY_HINT})"
    squeezed = re.sub(r"[^a-z0-9]", "", secret.lower())
    if any(marker in squeezed for marker in PLACEHOLDER_MARKERS):
        return ("LIVESHOP_SECRET_KEY is a placeholder from an example; set it to a long random"
                f" value ({SECRET_KEY_HINT})")
    if len(secret) < MIN_SECRET_KEY_LENGTH:
        return (f"LIVESHOP_SECRET_KEY is {len(secret)} characters long; use at least"
                f" {MIN_SECRET_KEY_LENGTH} random ones ({SECRET_KEY_HINT})")
    return None


def check_secret_key(settings: Settings) -> None:
    """Raise InsecureSecretKey unless the settings' secret key may sign cookies."""
    problem = secret_key_problem(settings.secret_key)
    if problem is not None:
        raise InsecureSecretKey(problem)
