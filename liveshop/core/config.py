"""Settings read from the environment (prefix ``LIVESHOP_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIVESHOP_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///var/liveshop.db"
    secret_key: str = "dev-insecure-change-me"
    media_dir: Path = Path("var/media")
    # Reservations that are not paid within this many seconds go back to stock.
    reservation_ttl_seconds: int = 600
    # Units of one variant one buyer may put in the cart, check out in one line or buy in
    # one tap (liveshop/checkout/model.py validate_quantity).
    max_units_per_variant: int = Field(default=10, ge=1, le=999)
    max_upload_bytes: int = 5 * 1024 * 1024
    # Cookies are marked Secure when the site is served over HTTPS.
    secure_cookies: bool = False
    login_attempts_per_account: int = 5
    login_attempts_per_ip: int = 20
    login_window_seconds: int = 300
    # The test provider's own ledger (a separate database, as a real provider is separate);
    # empty: in memory. Lets its idempotency hold across processes and restarts.
    test_provider_url: str = ""
    # Several app processes share rooms, viewer counts and rate limits through Redis.
    redis_url: str = ""
    # A retried request whose first attempt is still "running" after this long belongs to a
    # process that died mid-request; the retry takes the key over.
    idempotency_abandoned_seconds: float = 60.0
    # A flash-sale purchase being paid for is held by one process this long; if that process
    # dies, another pays for it after this (liveshop/live/settlement.py).
    sale_settlement_lease_seconds: float = 30.0
    # Room sockets one client may hold open per app process (docs/live-protocol.md): per
    # address (generous: a shop floor or a campus shares one) and per signed-in user (a few tabs).
    room_sockets_per_ip: int = 200
    room_sockets_per_user: int = 10
    # The demo's self-running live show (simulated viewers, chat, purchases); demo only.
    demo_simulation: bool = False
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


@lru_cache
def get_settings() -> Settings:
    return Settings()
