"""The import's use cases over an uploaded or local file (a binary stream): UTF-8 with or
without a BOM, CRLF or LF, read as a stream three times at most (count, dry run, import)."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO, TextIO

from liveshop.accounts.model import Actor
from liveshop.core.db import Database
from liveshop.core.errors import InvalidInput
from liveshop.integrations.shopify import imports
from liveshop.integrations.shopify.imports import ImportReport, Progress

CHUNK_BYTES = 1 << 20


@contextmanager
def as_text(stream: BinaryIO) -> Iterator[TextIO]:
    """The stream from its start as text; bytes that are not UTF-8 are a 422 on ``file``."""
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        yield text
    except UnicodeDecodeError:
        raise InvalidInput("The file is not UTF-8 text: export it from Shopify again, or save "
                           "it as CSV UTF-8", field="file") from None
    except csv.Error as error:
        # A NUL byte, a cell over csv's size limit: not a spreadsheet's CSV.
        raise InvalidInput(f"The file is not a readable CSV: {error}", field="file") from None
    finally:
        text.detach()


def sha256_of(stream: BinaryIO) -> str:
    stream.seek(0)
    digest = hashlib.sha256()
    while chunk := stream.read(CHUNK_BYTES):
        digest.update(chunk)
    return digest.hexdigest()


def rows_in(stream: BinaryIO) -> int:
    with as_text(stream) as text:
        return imports.count_rows(text)


def dry_run(db: Database, actor: Actor, shop_id: int, stream: BinaryIO, market: str,
            progress: Progress | None = None) -> ImportReport:
    imports.check_shop(db, actor, shop_id, market)
    total = rows_in(stream)
    with as_text(stream) as text:
        return imports.dry_run(db, actor, shop_id, text, market, progress, total)


def run_started(db: Database, actor: Actor, shop_id: int, run_id: int, stream: BinaryIO,
                market: str, progress: Progress | None = None) -> ImportReport:
    total = rows_in(stream)
    imports.set_total(db, run_id, total)
    with as_text(stream) as text:
        return imports.run_import(db, actor, shop_id, text, market, run_id, progress, total)


def import_file(db: Database, actor: Actor, shop_id: int, stream: BinaryIO, market: str,
                filename: str, progress: Progress | None = None) -> ImportReport:
    """Import (not a dry run), recorded as a run with its report."""
    run_id = imports.start_run(db, actor, shop_id, market, filename, sha256_of(stream), 0)
    return run_started(db, actor, shop_id, run_id, stream, market, progress)
