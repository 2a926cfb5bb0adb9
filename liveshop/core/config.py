"""Settings read from the environment (prefix ``LIVESHOP_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIVESHOP_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///var/liveshop.db"
    secret_key: str = "dev-insecure-change-me"
    media_dir: Path = Path("var/media")
    # Reservations that are not paid within this many seconds go back to stock.
    reservation_ttl_seconds: int = 600
    max_upload_bytes: int = 5 * 1024 * 1024
    # Cookies are marked Secure when the site is served over HTTPS.
    secure_cookies: bool = False
    login_attempts_per_account: int = 5
    login_attempts_per_ip: int = 20
    login_window_seconds: int = 300
    payment_provider: str = "test"
    # The demo's self-running live show (simulated viewers, chat, purchases); demo only.
    demo_simulation: bool = False


@lru_cache
def get_settings() -> Settings:
    return Settings()
