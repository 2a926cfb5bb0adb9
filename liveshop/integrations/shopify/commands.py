"""``liveshop import-shopify``: the import from a terminal, as the shop's owner."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from liveshop.accounts.model import Actor, Role
from liveshop.catalog import service as catalog
from liveshop.core.db import Database
from liveshop.integrations.shopify import files
from liveshop.integrations.shopify.imports import ImportReport

SHOWN_PROBLEMS = 50


def _progress(label: str) -> Callable[[int, int], None]:
    def show(done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\r{label}: {done:,} / {total:,} rows{end}")
        sys.stderr.flush()
    return show


def summary(report: ImportReport) -> list[str]:
    verb = "would be" if report.dry_run else "were"
    lines = [f"{report.rows:,} rows ({report.layout} layout), prices for {report.market}: "
             f"{report.created} products {verb} created, {report.updated} updated, "
             f"{report.unchanged} unchanged, {report.skipped} skipped; "
             f"{report.pending_images} image(s) recorded to fetch"]
    for handle, changed in list(report.updated_handles.items())[:SHOWN_PROBLEMS]:
        lines.append(f"  update {handle}: {', '.join(changed)}")
    for problem in report.problems[:SHOWN_PROBLEMS]:
        lines.append(f"  {'error' if problem.error else 'warning'}: {problem}")
    if report.problems_total > SHOWN_PROBLEMS:
        lines.append(f"  ... {report.problems_total - SHOWN_PROBLEMS} more problem(s)")
    if report.unused_columns:
        lines.append(f"  columns not used: {', '.join(report.unused_columns)}")
    return lines


def import_shopify(db: Database, path: Path, shop_id: int, market: str, dry_run: bool,
                   echo: Callable[[str], object]) -> int:
    """Dry run, then (unless ``dry_run``) the import; the exit code: 1 if products were
    skipped, else 0."""
    owner = Actor(catalog.get_shop(db, shop_id).owner_id, Role.SELLER)
    with path.open("rb") as stream:
        report = files.dry_run(db, owner, shop_id, stream, market, _progress("checking"))
        for line in summary(report):
            echo(line)
        if not dry_run:
            report = files.import_file(db, owner, shop_id, stream, market, path.name,
                                       _progress("importing"))
            for line in summary(report)[:1]:
                echo(line)
    return 1 if report.skipped else 0
