"""Options of the built-in backends, one frozen dataclass per component, named as in the
settings (``[vectors.faiss]``, ``[lexical.fts5]``). Light on purpose: the settings import it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from retrieval.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class FaissOptions:
    """FAISS vector index, its kind chosen by size: exact (``flat``) search below
    ``hnsw_threshold`` vectors, HNSW over the float32 vectors (``hnsw``) above, and from
    ``quantize_threshold`` on HNSW over 8-bit codes (``hnsw-sq8``, a quarter of the memory)
    with the short list of ``rescore_factor`` x k rows rescored exactly from the float32
    vectors on disk (docs/benchmarks.md, scale-1m).

    Both thresholds default to 50k vectors: a flat search reads every vector (about 14 ms
    per query at 100k, 384 dimensions, one thread on this machine), while ``hnsw-sq8`` at
    100k took 1.2-1.5 ms for k=100 with recall@10 0.97-1.00 against exact search
    (docs/benchmarks.md, dense-100k). ``hnsw`` stays available by setting
    ``quantize_threshold`` above ``hnsw_threshold``."""

    hnsw_threshold: int = 50_000
    hnsw_m: int = 32
    ef_construction: int = 80
    ef_search: int = 128
    quantize_threshold: int = 50_000
    rescore_factor: int = 2


@dataclass(frozen=True)
class Fts5Options:
    """FTS5 lexical index. Query words found in more than ``common_share`` of the chunks, and
    in more than ``common_min_chunks`` of them, are left out of the query: they barely move
    BM25, yet their long posting lists are most of the query's cost on a big index
    (docs/benchmarks.md, latency); small indexes keep every word."""

    common_share: float = 0.05
    common_min_chunks: int = 2000
    max_terms: int = 16
    """At most this many query words (the rarest) go into the MATCH."""
    max_postings: int = 40_000
    """On an index of more chunks than this, query words go into the MATCH rarest first while
    the chunks they occur in add up to at most this many (the rarest word always goes in):
    FTS5 scores every row of every posting list, so this bounds a query's cost; the words
    left out are the commonest, which move BM25 least. Smaller indexes are not affected
    (docs/benchmarks.md, scale-1m)."""


@dataclass(frozen=True)
class SparseOptions:
    """The ``sparse`` lexical index: Okapi BM25 weights precomputed per (term, chunk) with
    ``k1`` and ``b`` (FTS5's bm25() constants; a change takes effect at the next ingest,
    which rewrites every weight). Query words are chosen by the rule the ``fts5`` index uses
    (:mod:`retrieval.backends.word_choice`;
    ``common_share``, ``common_min_chunks``, ``max_terms``: see :class:`Fts5Options`), without
    its posting budget: summing a column costs little next to FTS5's per-row bm25()."""

    k1: float = 1.2
    b: float = 0.75
    common_share: float = 0.05
    common_min_chunks: int = 2000
    max_terms: int = 16


@dataclass(frozen=True)
class MilvusOptions:
    """Milvus lexical + vector index (``[milvus]``, ``TOWNSQUARE_MILVUS__URI``).

    ``uri``: a Milvus server (``http://host:19530``) or a local file for the embedded
    milvus-lite; empty means ``<index dir>/milvus.db``. ``token``/``db_name`` for a secured or
    shared cluster. ``index_type``/``index_params`` choose the dense index (``FLAT`` exact;
    e.g. ``HNSW`` with ``{"M": 16, "efConstruction": 200}`` on a cluster); ``search_params``
    go with each dense search (e.g. ``{"ef": 64}``).
    """

    uri: str = ""
    token: str = ""
    db_name: str = ""
    index_type: str = "FLAT"
    index_params: dict[str, Any] = field(default_factory=dict)
    search_params: dict[str, Any] = field(default_factory=dict)

    def resolved_uri(self, index_root: Path) -> str:
        """The URI to connect to (the default embedded file lives in the index directory)."""
        return self.uri or str(index_root / "milvus.db")


def options_of(kind: type[T], given: Mapping[str, Any], name: str) -> T:
    """``kind`` built from ``given``; an unknown key is a :class:`ConfigError` naming it."""
    known = {f.name for f in fields(kind)}  # type: ignore[arg-type]
    unknown = sorted(set(given) - known)
    if unknown:
        raise ConfigError(f"unknown {name} option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return kind(**given)
