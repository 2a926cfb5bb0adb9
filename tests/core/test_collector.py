"""The serving process's garbage collector (liveshop/core/collector.py). Each check runs in a
fresh interpreter: freezing this test process's heap would change every later test."""

from __future__ import annotations

from pathlib import Path

from liveshop.core.collector import SERVING_THRESHOLDS
from liveshop.core.migrate import upgrade
from tests.processes import run_python


def test_start_up_objects_are_frozen_and_start_up_garbage_is_collected_first() -> None:
    out = run_python("""
        import gc, weakref
        from liveshop.core.collector import freeze_startup_objects

        class Node:
            pass

        kept = Node()
        cycle = Node()
        cycle.itself = cycle
        collected = []
        weakref.finalize(cycle, collected.append, True)
        del cycle
        gc.disable()  # only the settling may collect the cycle
        freeze_startup_objects()
        tracked = {id(o) for o in gc.get_objects()}
        print(collected == [True], id(kept) not in tracked, gc.get_freeze_count() > 0,
              gc.get_threshold())
    """)
    assert out == f"True True True {SERVING_THRESHOLDS}"


def test_the_served_app_settles_its_heap_once_started(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/app.db"
    upgrade(url)
    out = run_python("""
        import gc
        from fastapi.testclient import TestClient
        import liveshop.main
        before = gc.get_freeze_count()
        with TestClient(liveshop.main.app):
            print(before, gc.get_freeze_count() > 50_000, gc.get_threshold())
    """, env={"LIVESHOP_DATABASE_URL": url,
              "LIVESHOP_MEDIA_DIR": str(tmp_path)})
    assert out == f"0 True {SERVING_THRESHOLDS}"
