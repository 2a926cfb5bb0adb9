"""The serving process's GIL switch interval (liveshop/core/gil.py), checked in a fresh
interpreter: changing this test process's interval would change how every later test runs."""

from __future__ import annotations

from pathlib import Path

from liveshop.core.gil import SERVING_SWITCH_INTERVAL_SECONDS
from liveshop.core.migrate import upgrade
from tests.processes import run_python


def test_the_served_app_hands_the_gil_over_sooner_once_started(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/app.db"
    upgrade(url)
    out = run_python("""
        import sys
        from fastapi.testclient import TestClient
        from liveshop.app import create_app
        from liveshop.core.config import get_settings
        import liveshop.main

        with TestClient(create_app(get_settings())):
            print(sys.getswitchinterval())  # an app that is not the serving process's
        with TestClient(liveshop.main.app):
            print(sys.getswitchinterval())
    """, env={"LIVESHOP_DATABASE_URL": url, "LIVESHOP_MEDIA_DIR": str(tmp_path)})
    assert [float(line) for line in out.splitlines()] == [0.005,
                                                          SERVING_SWITCH_INTERVAL_SECONDS]
