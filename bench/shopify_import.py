"""Shopify CSV import: a generated 50,000-row product export into a fresh shop.

Reports rows per second and peak memory (the child process's VmHWM) of the import on
SQLite and PostgreSQL, beside a baseline measured in the same run on the same file: plain
``csv.reader`` over it (what reading the bytes alone costs on this machine). Also the
re-import of the same file (every product unchanged). Images: none are fetched (``Image
Src`` is only recorded as pending), so this is the import "without images". The dry run
(what the page and CLI show first) is measured too.

    python -m bench.shopify_import [--rows 50000]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from bench import harness
from liveshop.core.db import normalise_url

POSTGRES_URL = os.environ.get("LIVESHOP_TEST_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")
VARIANTS_PER_PRODUCT = 5
HEADER = ["Handle", "Title", "Body (HTML)", "Vendor", "Tags", "Published", "Option1 Name",
          "Option1 Value", "Option2 Name", "Option2 Value", "Variant SKU", "Variant Grams",
          "Variant Inventory Tracker", "Variant Inventory Qty", "Variant Price",
          "Variant Compare At Price", "Variant Barcode", "Image Src", "Image Position",
          "Variant Weight Unit", "Price / Germany", "Status"]
SIZES = ["XS", "S", "M", "L", "XL"]


def generate(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(HEADER)
        for index in range(rows):
            product, size = divmod(index, VARIANTS_PER_PRODUCT)
            handle = f"bench-tee-{product}"
            first = size == 0
            writer.writerow([
                handle, f"Bench Tee {product}" if first else "",
                ("<p>Soft <b>cotton</b>, line one.</p><ul><li>Fit</li></ul>"
                 "<script>x()</script>") if first else "",
                "Bench" if first else "", "cotton, bench" if first else "",
                "true" if first else "", "Size" if first else "", SIZES[size],
                "", "", f"BT-{product}-{SIZES[size]}", "200", "shopify", str(10 + size),
                f"{19 + size}.99", "39.99" if size == 0 else "", f"50{index:011d}",
                f"https://cdn.example.com/{handle}.jpg" if first else "",
                "1" if first else "", "kg", f"{22 + size}.95", "active" if first else ""])


def child(mode: str, url: str, file: str, shop_id: int) -> None:
    """One measurement in a process of its own, so its peak memory is its own."""
    started = time.perf_counter()
    rows = 0
    if mode == "csv":
        with open(file, encoding="utf-8-sig", newline="") as text:
            for _cells in csv.reader(text):
                rows += 1
        rows -= 1
    else:
        from liveshop.accounts.model import Actor, Role
        from liveshop.catalog import service as catalog
        from liveshop.core.db import Database
        from liveshop.integrations.shopify import files

        db = Database(url)
        owner = Actor(catalog.get_shop(db, shop_id).owner_id, Role.SELLER)
        with open(file, "rb") as stream:
            if mode == "dry":
                report = files.dry_run(db, owner, shop_id, stream, "UK")
            else:
                report = files.import_file(db, owner, shop_id, stream, "UK", "bench.csv")
        rows = report.rows
        assert report.skipped == 0, report.problems[:3]
        db.dispose()
    elapsed = time.perf_counter() - started
    peak_kb = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text()
                   .splitlines() if line.startswith("VmHWM:"))
    print(json.dumps({"rows": rows, "seconds": elapsed, "peak_mb": peak_kb / 1024}))


def _measure(mode: str, url: str, file: Path, shop_id: int) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, "-m", "bench.shopify_import", "--child", mode, url, str(file),
         str(shop_id)], check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    result["per_second"] = result["rows"] / result["seconds"]
    return result


def _shop(url: str) -> int:
    from liveshop.accounts.orm import User
    from liveshop.catalog.orm import Shop, ShopMarket
    from liveshop.core.db import Database

    db = Database(url)
    with db.transaction() as session:
        user = User(email=f"bench-{uuid.uuid4().hex[:8]}@example.com", password_hash="x",
                    display_name="Bench", role="seller")
        session.add(user)
        session.flush()
        shop = Shop(owner_id=user.id, name="Bench", slug=f"bench-{uuid.uuid4().hex[:8]}",
                    markets=[ShopMarket(market="UK", shipping_minor=399),
                             ShopMarket(market="DE", shipping_minor=499)])
        session.add(shop)
        session.flush()
        shop_id = shop.id
    db.dispose()
    return shop_id


def run(url: str, label: str, file: Path) -> None:
    harness.migrate(url)
    shop_id = _shop(url)
    baseline = _measure("csv", url, file, shop_id)
    dry = _measure("dry", url, file, shop_id)
    first = _measure("import", url, file, shop_id)
    again = _measure("import", url, file, shop_id)
    print(f"{label}: {int(first['rows']):,} rows")
    print(f"  baseline csv.reader: {baseline['per_second']:,.0f} rows/s, "
          f"peak {baseline['peak_mb']:.0f} MB")
    for name, result in (("dry run", dry), ("import", first),
                         ("re-import (unchanged)", again)):
        print(f"  {name}: {result['per_second']:,.0f} rows/s ({result['seconds']:.1f} s), "
              f"peak {result['peak_mb']:.0f} MB; "
              f"{result['per_second'] / baseline['per_second']:.3f}x the baseline's rate")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--child", nargs=4, metavar=("MODE", "URL", "FILE", "SHOP"))
    args = parser.parse_args(argv)
    if args.child:
        mode, url, file, shop = args.child
        child(mode, url, file, int(shop))
        return
    from bench import machine

    print(machine.describe(), flush=True)
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "products_export.csv"
        generate(file, args.rows)
        print(f"generated {args.rows:,} rows, {file.stat().st_size / 2**20:.1f} MB")
        run(f"sqlite:///{folder}/bench.db", "SQLite", file)
        admin = sa.create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
        name = f"liveshop_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            url = sa.make_url(normalise_url(POSTGRES_URL)).set(database=name)
            run(url.render_as_string(hide_password=False), "PostgreSQL", file)
        finally:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
