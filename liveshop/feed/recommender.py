"""Item-to-item collaborative filtering: learn, from who interacted with what, which items go
together, and keep for each item its top-N neighbours so that serving only adds up a few
precomputed scores. Pure: numpy, scipy and the ``implicit`` package; no database, no HTTP.

The interface the feed calls::

    Interactions(user_ids, item_ids, weights)        # int64, int64, float32; one per interaction
    train(interactions, *, method="ease", max_items=20_000, neighbours=50, **params)
        -> ItemNeighbours
    ItemNeighbours.similar(item_id, k) -> [(item, score)]
    ItemNeighbours.recommend(history, k, exclude=()) -> [(item, score)]
        # history: {item: weight} or a sequence of items (weight 1 each); items of ``exclude``
        # never come back (the history itself is not excluded unless the caller says so)
    ItemNeighbours.to_rows() -> iter of (item, neighbour, score)   # for storing
    ItemNeighbours.from_rows(rows) -> ItemNeighbours                # and reading back
    most_popular(interactions, k) -> [(item, total weight)]         # the cold-start fallback
    recency_weighted(history_oldest_first, half_life=5.0) -> {item: weight}
        # what the last interactions were counts most: the history ``recommend`` was
        # evaluated with (docs/feed-recommender.md)

An item the model has not seen (a cold item) has no neighbours: ``similar`` gives ``[]`` and
a history made only of cold items recommends nothing, so the caller falls back to popularity.

Methods (docs/feed-recommender.md has the derivations and the measured quality):

- ``"ease"`` (default): EASE (Steck, 2019), the closed form B = I - P·diag(1/diag(P)) with
  P = (XᵀX + l2·I)⁻¹ on the item x item Gram matrix. Best on MovieLens here, but its dense
  item x item matrix costs items² x 4 bytes (1.6 GB at 20,000 items) and its inversion
  items³ time, so only the ``max_items`` most popular items are modelled; the others are cold.
  Parameter: ``l2`` (regularisation, default 600, tuned on MovieLens 100K).
- ``"als"``: implicit ALS (the ``implicit`` package), memory linear in items, for catalogs
  past ``max_items``. Item neighbours come from folding a history into the item factors Y:
  a user's factors are x ≈ (YᵀY + λI)⁻¹ Σ w_h y_h, so score(j) = Σ w_h · y_jᵀ(YᵀY + λI)⁻¹y_h,
  an item x item similarity whose top-N per item is what is stored. Parameters: ``factors``
  (64), ``regularization`` (1.0), ``iterations`` (15), ``alpha`` (1.0), ``random_state`` (0).
- ``"auto"``: EASE up to ``max_items`` items, ALS past it.

Only positive neighbour scores are kept: a negative EASE weight says "not with this item",
which a top-N list of suggestions has no use for.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg
import scipy.linalg.lapack
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

METHODS = ("ease", "als", "auto")
EASE_DEFAULTS: dict[str, Any] = {"l2": 600.0}
ALS_DEFAULTS: dict[str, Any] = {"factors": 64, "regularization": 1.0, "iterations": 15,
                                "alpha": 1.0, "random_state": 0}
# Interactions after which a history item counts half (recency_weighted); tuned on
# MovieLens 100K's validation split (docs/feed-recommender.md).
DEFAULT_HALF_LIFE = 5.0
# Columns of the Gram matrix (and rows of B) worked on at a time: bounds the sparse
# intermediate of XᵀX and the sort buffers to items x CHUNK instead of items².
CHUNK = 1024


@dataclass(frozen=True)
class Interactions:
    """Training input built from stored events: one row per (user, item, weight); repeated
    pairs add up. Weights are the caller's (purchase > add to cart > watch > click)."""

    user_ids: np.ndarray
    item_ids: np.ndarray
    weights: np.ndarray

    def __post_init__(self) -> None:
        users = np.asarray(self.user_ids, dtype=np.int64)
        items = np.asarray(self.item_ids, dtype=np.int64)
        weights = np.asarray(self.weights, dtype=np.float32)
        if not users.ndim == items.ndim == weights.ndim == 1 or not (
                len(users) == len(items) == len(weights)):
            raise ValueError("user_ids, item_ids and weights must be 1-D and of one length")
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError("weights must be finite and not negative")
        # Frozen, yet normalised once here so that every consumer sees the documented dtypes.
        object.__setattr__(self, "user_ids", users)
        object.__setattr__(self, "item_ids", items)
        object.__setattr__(self, "weights", weights)

    def __len__(self) -> int:
        return len(self.user_ids)


class ItemNeighbours:
    """For each item its top-N similar items, best first (a CSR-like layout: one slice of
    ``neighbours``/``scores`` per item)."""

    def __init__(self, items: np.ndarray, indptr: np.ndarray, neighbours: np.ndarray,
                 scores: np.ndarray):
        self._items = np.asarray(items, dtype=np.int64)
        self._indptr = np.asarray(indptr, dtype=np.int64)
        self._neighbours = np.asarray(neighbours, dtype=np.int64)
        self._scores = np.asarray(scores, dtype=np.float32)
        self._row = {int(item): row for row, item in enumerate(self._items)}

    @classmethod
    def empty(cls) -> ItemNeighbours:
        nothing = np.zeros(0)
        return cls(nothing, np.zeros(1), nothing, nothing)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def items(self) -> list[int]:
        """The items that have neighbours."""
        return self._items.tolist()

    def _slice(self, item_id: int) -> slice | None:
        row = self._row.get(int(item_id))
        return None if row is None else slice(self._indptr[row], self._indptr[row + 1])

    def similar(self, item_id: int, k: int) -> list[tuple[int, float]]:
        span = self._slice(item_id)
        if span is None or k <= 0:
            return []
        neighbours, scores = self._neighbours[span][:k], self._scores[span][:k]
        return list(zip(neighbours.tolist(), scores.tolist(), strict=True))

    def recommend(self, history: Mapping[int, float] | Sequence[int], k: int,
                  exclude: Collection[int] = ()) -> list[tuple[int, float]]:
        """Score items by the history's neighbours: Σ weight(h) · score(h → item)."""
        weighted = history if isinstance(history, Mapping) else dict.fromkeys(history, 1.0)
        spans = [(span, weight) for item, weight in weighted.items()
                 if (span := self._slice(item)) is not None]
        if not spans or k <= 0:
            return []
        candidates = np.concatenate([self._neighbours[span] for span, _ in spans])
        contributions = np.concatenate(
            [self._scores[span].astype(np.float64) * weight for span, weight in spans])
        keys, inverse = np.unique(candidates, return_inverse=True)
        totals = np.bincount(inverse, weights=contributions)
        if exclude:
            kept = ~np.isin(keys, np.fromiter(exclude, dtype=np.int64, count=len(exclude)))
            keys, totals = keys[kept], totals[kept]
        return _best(keys, totals, k)

    def to_rows(self) -> Iterator[tuple[int, int, float]]:
        for row, item in enumerate(self._items.tolist()):
            span = slice(self._indptr[row], self._indptr[row + 1])
            for neighbour, score in zip(self._neighbours[span].tolist(),
                                        self._scores[span].tolist(), strict=True):
                yield item, neighbour, score

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[int, int, float]]) -> ItemNeighbours:
        table = list(rows)
        if not table:
            return cls.empty()
        items = np.array([row[0] for row in table], dtype=np.int64)
        neighbours = np.array([row[1] for row in table], dtype=np.int64)
        scores = np.array([row[2] for row in table], dtype=np.float32)
        # Per item, best first; ties by neighbour id, as training orders them.
        order = np.lexsort((neighbours, -scores, items))
        return cls._from_sorted(items[order], neighbours[order], scores[order])

    @classmethod
    def _from_sorted(cls, items: np.ndarray, neighbours: np.ndarray,
                     scores: np.ndarray) -> ItemNeighbours:
        keys, starts = np.unique(items, return_index=True)
        indptr = np.append(starts, len(items))
        return cls(keys, indptr, neighbours, scores)


def _best(keys: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k highest-scoring keys, best first, ties broken by the smaller key."""
    if len(keys) > k:
        # Everything scoring at least the k-th best, so ties at the boundary stay decidable.
        threshold = np.partition(scores, len(scores) - k)[len(scores) - k]
        kept = scores >= threshold
        keys, scores = keys[kept], scores[kept]
    order = np.lexsort((keys, -scores))[:k]
    return list(zip(keys[order].tolist(), scores[order].tolist(), strict=True))


def recency_weighted(history: Sequence[int] | Sequence[tuple[int, float]],
                     half_life: float | None = DEFAULT_HALF_LIFE) -> dict[int, float]:
    """A history for ``recommend`` from a user's interactions, oldest first (items, or
    (item, weight) pairs): each interaction's weight halves every ``half_life`` later
    interactions, so what a user did last counts most (the time decay of Microsoft's SAR);
    repeats add up. ``None``: no decay."""
    weighted: dict[int, float] = {}
    for age, entry in enumerate(reversed(history)):
        item, weight = entry if isinstance(entry, tuple) else (entry, 1.0)
        decay = 1.0 if half_life is None else 0.5 ** (age / half_life)
        weighted[int(item)] = weighted.get(int(item), 0.0) + weight * decay
    return weighted


def popularity(interactions: Interactions) -> tuple[np.ndarray, np.ndarray]:
    """Each item's total weight: (items, totals)."""
    items, inverse = np.unique(interactions.item_ids, return_inverse=True)
    return items, np.bincount(inverse, weights=interactions.weights.astype(np.float64))


def most_popular(interactions: Interactions, k: int) -> list[tuple[int, float]]:
    """The k items with the largest total weight, best first (ties: the smaller id)."""
    if k <= 0 or len(interactions) == 0:
        return []
    return _best(*popularity(interactions), k)


def train(interactions: Interactions, *, method: str = "ease", max_items: int = 20_000,
          neighbours: int = 50, **params: Any) -> ItemNeighbours:
    """Learn item neighbours from interactions (see the module docstring for the methods)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if max_items < 1 or neighbours < 1:
        raise ValueError("max_items and neighbours must be at least 1")
    if method == "auto":
        method = "ease" if len(np.unique(interactions.item_ids)) <= max_items else "als"
    defaults = EASE_DEFAULTS if method == "ease" else ALS_DEFAULTS
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ValueError(f"unknown parameters for {method}: {', '.join(unknown)}")
    settings = {**defaults, **params}
    if method == "ease":
        interactions = prune_to_most_popular(interactions, max_items)
    if len(interactions) == 0:
        return ItemNeighbours.empty()
    matrix, items = user_item_matrix(interactions)
    # One BLAS thread: training runs beside serving, and on a busy 2-core machine OpenBLAS's
    # second thread made EASE's inversion 4-6x slower, not faster (its threads spin-wait).
    with threadpool_limits(1, "blas"):
        if method == "ease":
            weights = ease_weights(matrix, float(settings["l2"]))
            return _top_neighbours(weights, items, neighbours)
        return _als_neighbours(matrix, items, neighbours, settings)


def prune_to_most_popular(interactions: Interactions, max_items: int) -> Interactions:
    """Keep only the interactions with the ``max_items`` most popular items."""
    items, totals = popularity(interactions)
    if len(items) <= max_items:
        return interactions
    kept_items = np.array([item for item, _ in _best(items, totals, max_items)], dtype=np.int64)
    kept = np.isin(interactions.item_ids, kept_items)
    return Interactions(interactions.user_ids[kept], interactions.item_ids[kept],
                        interactions.weights[kept])


def user_item_matrix(interactions: Interactions) -> tuple[sp.csr_matrix, np.ndarray]:
    """The users x items matrix of summed weights (rows and columns in sorted id order) and
    the item ids of its columns."""
    users, user_index = np.unique(interactions.user_ids, return_inverse=True)
    items, item_index = np.unique(interactions.item_ids, return_inverse=True)
    matrix = sp.csr_matrix((interactions.weights, (user_index, item_index)),
                           shape=(len(users), len(items)), dtype=np.float32)
    matrix.sum_duplicates()
    return matrix, items


def ease_weights(matrix: sp.csr_matrix, l2: float) -> np.ndarray:
    """EASE's item x item weights B (zero diagonal), float32, built in place in one dense
    matrix: the Gram matrix, then its regularised inverse, then B."""
    n_items = matrix.shape[1]
    columns = matrix.tocsc()
    gram = np.empty((n_items, n_items), dtype=np.float32, order="F")
    for start in range(0, n_items, CHUNK):
        stop = min(start + CHUNK, n_items)
        gram[:, start:stop] = (columns.T @ columns[:, start:stop]).toarray()
    gram[np.diag_indices(n_items)] += l2
    precision = _invert_positive_definite(gram)
    diagonal = np.diag(precision).copy()
    precision /= -diagonal[np.newaxis, :]
    precision[np.diag_indices(n_items)] = 0.0
    return precision


def _invert_positive_definite(matrix: np.ndarray) -> np.ndarray:
    """The inverse of a symmetric positive definite Fortran-ordered matrix, computed in its
    own memory (LAPACK's Cholesky potrf then potri: twice as fast as a general inverse here,
    and no second n² matrix)."""
    factor, info = scipy.linalg.lapack.spotrf(matrix, lower=1, clean=0, overwrite_a=1)
    _check_lapack(info)
    inverse, info = scipy.linalg.lapack.spotri(factor, lower=1, overwrite_c=1)
    _check_lapack(info)
    # potri fills the lower triangle only: mirror it, a block of rows at a time.
    for start in range(0, len(inverse), CHUNK):
        stop = start + CHUNK
        inverse[start:stop, stop:] = inverse[stop:, start:stop].T
        block = inverse[start:stop, start:stop]
        block[:] = np.tril(block) + np.tril(block, -1).T
    return inverse


def _check_lapack(info: int) -> None:
    if info != 0:
        raise np.linalg.LinAlgError(f"Gram matrix not positive definite (LAPACK info {info})")


def _top_neighbours(weights: np.ndarray, items: np.ndarray, n: int) -> ItemNeighbours:
    """Each row's n largest entries of a dense item x item matrix whose diagonal is zero."""
    n = min(n, len(items))
    found = []
    for start in range(0, len(items), CHUNK):
        block = weights[start:start + CHUNK]
        # A copy: the slice alone would keep the whole block's index array alive.
        top = np.argpartition(-block, n - 1, axis=1)[:, :n].copy()
        found.append((top, np.take_along_axis(block, top, axis=1)))
    return _neighbour_table(items, np.concatenate([top for top, _ in found]),
                            np.concatenate([values for _, values in found]))


def _neighbour_table(items: np.ndarray, columns: np.ndarray,
                     scores: np.ndarray) -> ItemNeighbours:
    """ItemNeighbours from each item's candidate columns and scores (items x n arrays, in any
    order): positive scores only, best first, ties by neighbour id."""
    owners = np.repeat(items, columns.shape[1])
    neighbours, values = items[columns.ravel()], scores.ravel()
    positive = values > 0
    owners, neighbours, values = owners[positive], neighbours[positive], values[positive]
    order = np.lexsort((neighbours, -values, owners))
    return ItemNeighbours._from_sorted(owners[order], neighbours[order], values[order])


def _als_neighbours(matrix: sp.csr_matrix, items: np.ndarray, n: int,
                    settings: Mapping[str, Any]) -> ItemNeighbours:
    from implicit.cpu.topk import topk

    factors = als_item_factors(matrix, settings).astype(np.float64)
    # S = Y (YᵀY + λI)⁻¹ Yᵀ = (Y R⁻¹)(Y R⁻¹)ᵀ with YᵀY + λI = RᵀR: a dot product per pair,
    # whose top-n per item implicit's top-k search finds without an items² matrix.
    gram = factors.T @ factors + settings["regularization"] * np.eye(factors.shape[1])
    upper = scipy.linalg.cholesky(gram, lower=False)
    folded = scipy.linalg.solve_triangular(upper, factors.T, trans="T").T
    folded = np.ascontiguousarray(folded, dtype=np.float32)
    itself = sp.identity(len(items), format="csr", dtype=np.float32)
    columns, scores = topk(folded, folded, min(n, len(items)), filter_query_items=itself)
    # A filtered or missing candidate comes back with the lowest float score: dropped below.
    return _neighbour_table(items, np.maximum(columns, 0), scores)


def als_item_factors(matrix: sp.csr_matrix, settings: Mapping[str, Any]) -> np.ndarray:
    """Fit implicit's ALS on the users x items matrix; its item factors (items x factors)."""
    model = fit_als(matrix, settings)
    return np.asarray(model.item_factors, dtype=np.float32)


def fit_als(matrix: sp.csr_matrix, settings: Mapping[str, Any]) -> Any:
    """implicit's CPU ALS fitted on users x items (implicit ≥ 0.5 takes that orientation)."""
    from implicit.cpu.als import AlternatingLeastSquares

    # implicit runs its own threads; a multi-threaded BLAS under them only contends (implicit
    # warns when it finds one, at construction).
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=int(settings["factors"]), regularization=float(settings["regularization"]),
            alpha=float(settings["alpha"]), iterations=int(settings["iterations"]),
            random_state=settings["random_state"])
        model.fit(matrix, show_progress=False)
    return model
