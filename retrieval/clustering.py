"""Clustering unit vectors (the overview's topics), with SciPy's k-means.

On L2-normalised rows, squared Euclidean distance is ``2 - 2 cos``, so k-means groups by
cosine similarity; no vector index is involved (any storage backend serves the vectors).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.cluster.vq import kmeans2

RESTARTS = 3
ITERATIONS = 25


def spherical_kmeans(vectors: np.ndarray, k: int, seed: int = 7) -> np.ndarray:
    """One cluster number in ``0..k-1`` per row of ``vectors`` (unit rows, shape (n, d), n > k),
    the best of :data:`RESTARTS` k-means++ runs by total distance; deterministic for a seed."""
    data = np.asarray(vectors, dtype=np.float64)
    best: tuple[float, np.ndarray] | None = None
    for attempt in range(RESTARTS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an empty cluster is fine: fewer topics
            centres, labels = kmeans2(data, k, iter=ITERATIONS, minit="++", seed=seed + attempt)
        cost = float(((data - centres[labels]) ** 2).sum())
        if best is None or cost < best[0]:
            best = (cost, labels)
    assert best is not None
    return best[1].astype(np.int64)
