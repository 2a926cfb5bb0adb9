"""MovieLens 100K for the offline evaluation, read out of a PyPI package that ships it: the
wheel of recbole 1.2.1 carries ``recbole/dataset_example/ml-100k/ml-100k.inter``. The wheel is
fetched once with ``pip download --no-deps`` into a cache directory (``make install`` does it)
and read with ``zipfile``: recbole is never imported or installed, nor is its torch.

``python -m liveshop.feed.movielens [CACHE_DIR]`` fetches the wheel (nothing if it is there).
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_CACHE = Path("var/datasets")
REQUIREMENT = "recbole==1.2.1"
WHEEL = "recbole-1.2.1-py3-none-any.whl"
# The wheel PyPI served on 2026-12-03: a different file under this name is refused.
WHEEL_SHA256 = "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407"
MEMBER = "recbole/dataset_example/ml-100k/ml-100k.inter"


class DatasetMissing(RuntimeError):
    """The wheel is not in the cache and fetching it was not allowed."""


@dataclass(frozen=True)
class Ratings:
    """Rated (user, item) pairs with their rating and Unix time, in file order."""

    user_ids: np.ndarray
    item_ids: np.ndarray
    ratings: np.ndarray
    timestamps: np.ndarray

    def __len__(self) -> int:
        return len(self.user_ids)


def wheel_path(cache_dir: Path = DEFAULT_CACHE) -> Path:
    return Path(cache_dir) / WHEEL


def fetch(cache_dir: Path = DEFAULT_CACHE) -> Path:
    """The cached wheel, downloaded first (without dependencies) if missing."""
    path = wheel_path(cache_dir)
    if not path.exists():
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--only-binary", ":all:", "--dest", str(cache_dir), REQUIREMENT],
                       check=True)
    _verify(path)
    return path


def _verify(path: Path) -> None:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise ValueError(f"{path} has sha256 {digest}, expected {WHEEL_SHA256}")


def load(cache_dir: Path = DEFAULT_CACHE, *, download: bool = True) -> Ratings:
    """MovieLens 100K's 100,000 ratings (943 users, 1,682 movies)."""
    path = wheel_path(cache_dir)
    if download:
        fetch(cache_dir)
    elif not path.exists():
        raise DatasetMissing(f"{path} is missing: run `make install` (or `python -m "
                             f"liveshop.feed.movielens {cache_dir}`) to fetch it")
    else:
        _verify(path)
    with zipfile.ZipFile(path) as wheel:
        text = wheel.read(MEMBER)
    return parse_inter(text)


def parse_inter(text: bytes) -> Ratings:
    """RecBole's atomic .inter format: a tab-separated header of ``name:type`` columns
    (user_id:token, item_id:token, rating:float, timestamp:float), then one row per rating."""
    header, _, body = text.partition(b"\n")
    names = [column.split(b":")[0].decode() for column in header.strip().split(b"\t")]
    expected = ["user_id", "item_id", "rating", "timestamp"]
    if names != expected:
        raise ValueError(f"unexpected columns {names}, expected {expected}")
    table = np.loadtxt(io.BytesIO(body), delimiter="\t", dtype=np.float64, ndmin=2)
    return Ratings(table[:, 0].astype(np.int64), table[:, 1].astype(np.int64),
                   table[:, 2].astype(np.float32), table[:, 3].astype(np.int64))


if __name__ == "__main__":
    print(fetch(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CACHE))
