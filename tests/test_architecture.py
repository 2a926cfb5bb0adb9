"""Which package may import which: the import-linter contracts in pyproject.toml
(docs/decisions/0003-package-layers.md). Imports inside functions count as much as those at
the top of a module."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import liveshop
from tests.processes import run_python

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "pyproject.toml"
PACKAGE = Path(liveshop.__file__).resolve().parent


def lint(package_root: Path) -> subprocess.CompletedProcess[str]:
    """import-linter over the package found in ``package_root``, in a process of its own:
    run in the test process it leaves the logging set up its way, and later tests' log
    captures hear nothing."""
    return subprocess.run(
        [sys.executable, "-c", "import sys\nfrom importlinter.cli import lint_imports\n"
         f"sys.exit(lint_imports(config_filename={str(CONFIG)!r}, no_cache=True, "
         "no_logo=True))"],
        cwd=package_root, env={"PYTHONPATH": str(package_root), "PATH": ""},
        capture_output=True, text=True, timeout=120)


def test_packages_import_each_other_only_in_the_agreed_direction() -> None:
    linted = lint(ROOT)
    assert linted.returncode == 0, linted.stdout + linted.stderr


# Forbidden imports the contracts must catch, each added to a copy of the package.
FORBIDDEN = {
    "a lower package importing a higher one inside a function": (
        "catalog/service.py",
        "\n\ndef _sneaky() -> None:\n    from liveshop.live import service  # noqa: F401\n",
        "liveshop.catalog is not allowed to import liveshop.live"),
    "a lower package reaching into a higher one's tables": (
        "orders/service.py", "\nfrom liveshop.checkout.orm import Checkout  # noqa: F401\n",
        "liveshop.orders is not allowed to import liveshop.checkout"),
    "the production app importing the demo": (
        "app.py", "\nfrom liveshop.demo import seed  # noqa: F401\n",
        "liveshop.app is not allowed to import liveshop.demo"),
    "a domain importing the back office": (
        "live/shows.py", "\nfrom liveshop.admin import audit  # noqa: F401\n",
        "liveshop.live is not allowed to import liveshop.admin"),
    "a page reading a table itself": (
        "storefront/pages.py", "\nfrom liveshop.catalog.orm import Product  # noqa: F401\n",
        "liveshop.storefront.pages is not allowed to import liveshop.catalog.orm"),
}


@pytest.mark.parametrize("case", FORBIDDEN)
def test_the_contracts_catch_a_forbidden_import(case: str, tmp_path: Path) -> None:
    module, line, complaint = FORBIDDEN[case]
    copy = tmp_path / "liveshop"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns(
        "__pycache__", "static", "templates"))
    with (copy / module).open("a") as source:
        source.write(line)
    linted = lint(tmp_path)
    report = " ".join(linted.stdout.split())
    assert linted.returncode == 1, linted.stdout + linted.stderr
    assert complaint in report, report


# The app's state read anywhere: ``app.state``, ``request.app.state``, ``scope["app"].state``.
APP_STATE = re.compile(r"""\bapp\b["'\]]*\.state\b""")
# The composition root builds the app's services and puts them on its state; the web kit's
# dependencies read them there once (``services_of``), for every route and socket.
STATE_READERS = {"liveshop/app.py": None, "liveshop/services.py": None,
                 "liveshop/web/deps.py": 1}


def _app_state_reads() -> dict[str, int]:
    reads = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        found = len(APP_STATE.findall(path.read_text()))
        if found:
            reads[str(path.relative_to(PACKAGE.parent))] = found
    return reads


def test_only_the_composition_root_reads_the_app_state() -> None:
    """Routes, sockets and middleware get the app's services through their dependencies
    (liveshop/web/deps.py) or when they are built (liveshop/app.py), never off the app."""
    reads = _app_state_reads()
    strays = {path: count for path, count in reads.items()
              if path not in STATE_READERS or STATE_READERS[path] not in (None, count)}
    assert strays == {}
    assert reads["liveshop/web/deps.py"] == 1


@pytest.mark.parametrize("line", [
    "hub: Hub = request.app.state.hub",
    'purchases = scope["app"].state.purchases',
    "runtime = websocket.app.state.video",
    'getattr(app.state, "context")',
])
def test_the_app_state_check_sees_a_read(line: str) -> None:
    assert APP_STATE.search(line)


def test_the_served_app_and_the_command_import_no_demo_code(tmp_path: Path) -> None:
    """``liveshop serve`` imports the command and the production app; the demo is imported
    by ``liveshop demo`` alone (its app factory, liveshop/demo/app.py)."""
    out = run_python("""
        import sys
        import liveshop.cli
        import liveshop.main
        print(sorted(name for name in sys.modules if name.startswith("liveshop.demo")))
    """, env={"LIVESHOP_DATABASE_URL": f"sqlite:///{tmp_path}/app.db",
              "LIVESHOP_MEDIA_DIR": str(tmp_path)})
    assert out == "[]"
