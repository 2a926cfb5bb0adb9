"""Which package may import which: the import-linter contracts in pyproject.toml
(docs/decisions/0003-package-layers.md). Imports inside functions count as much as those at
the top of a module."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

import liveshop

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "pyproject.toml"
PACKAGE = Path(liveshop.__file__).resolve().parent


def test_packages_import_each_other_only_in_the_agreed_direction() -> None:
    """On failure the report above names each broken contract and the import breaking it."""
    assert lint_imports(config_filename=str(CONFIG), no_cache=True, no_logo=True) == 0


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
    linted = subprocess.run(
        [sys.executable, "-c", "import sys\nfrom importlinter.cli import lint_imports\n"
         f"sys.exit(lint_imports(config_filename={str(CONFIG)!r}, no_cache=True, "
         "no_logo=True))"],
        cwd=tmp_path, env={"PYTHONPATH": str(tmp_path), "PATH": ""},
        capture_output=True, text=True, timeout=120)
    report = " ".join(linted.stdout.split())
    assert linted.returncode == 1, linted.stdout + linted.stderr
    assert complaint in report, report
