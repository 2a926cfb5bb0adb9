"""What a serving process does once the app has started (``create_app(serving_process=True)``,
as ``liveshop.main`` builds it). In a fresh interpreter: a serving process also freezes its
heap (tests/core/test_collector.py), which must not happen to the test process."""

from __future__ import annotations

from pathlib import Path

from liveshop.core.migrate import upgrade
from tests.processes import run_python

# What routing the first request to a late route builds without warm-up: ~25,000 objects.
FIRST_REQUEST_OBJECTS = 1_000


def test_every_route_is_ready_before_the_first_request(tmp_path: Path) -> None:
    """A route's first request must not build FastAPI's routing for it while other requests
    wait on the event loop (liveshop.app.warm_routes)."""
    url = f"sqlite:///{tmp_path}/app.db"
    upgrade(url)
    out = run_python("""
        import gc
        from fastapi.testclient import TestClient
        from liveshop.app import create_app
        from liveshop.core.config import get_settings

        for serving in (False, True):
            with TestClient(create_app(get_settings(), serving_process=serving)) as client:
                gc.collect()
                before = len(gc.get_objects())
                # A route most others come before (liveshop.app.API_ROUTERS).
                listed = client.get("/api/v1/orders")
                gc.collect()
                print(listed.status_code, len(gc.get_objects()) - before)
    """, env={"LIVESHOP_DATABASE_URL": url, "LIVESHOP_MEDIA_DIR": str(tmp_path)})
    cold, warm = (line.split() for line in out.splitlines())
    assert cold[0] == warm[0] == "401"  # nobody signed in: routed, then refused
    assert int(cold[1]) > 10 * FIRST_REQUEST_OBJECTS  # the check would notice a cold start
    assert int(warm[1]) < FIRST_REQUEST_OBJECTS
