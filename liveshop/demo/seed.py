"""Demo data (filled in by the demo work)."""

from __future__ import annotations

from liveshop.core.config import Settings
from liveshop.core.db import Database


def seed_demo(db: Database, settings: Settings) -> list[str]:
    return []
