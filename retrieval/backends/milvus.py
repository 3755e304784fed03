"""Milvus as Townsquare's lexical and vector index: BM25 full-text search, dense inner-product
search, filters and visibility all evaluated inside the engine, before its top k.

The catalog stays in the snapshot's SQLite, so API replicas scale out by sharing the snapshot
directory and the Milvus server. Both parts live in one collection per index directory (see
:mod:`retrieval.backends.milvus_collection` for the layout and the generations that keep
snapshots immutable). Because a row carries its text and its vector together, the vector part
writes the rows and the lexical part only reads them.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.backends.milvus_collection import (
    ALIVE,
    AUDIENCE,
    MAX_ARRAY,
    MAX_TEXT,
    PUBLIC,
    audience_key,
    collection_name,
    connect,
    ensure_collection,
    expression,
    has_field,
    literal,
    read_meta,
    read_terms,
    row_key,
    rows_alive,
    tokens,
    write_meta,
    write_terms,
)
from retrieval.backends.options import MilvusOptions, options_of
from retrieval.filters import Filters
from retrieval.storage import Catalog, CatalogBuilder, Place, Scored
from retrieval.views import ChunkEntry, Groups
from retrieval.words import query_words

log = logging.getLogger(__name__)

MAX_LIMIT = 16384
"""Milvus's largest top k per search."""
ROW_FIELDS = ("pk", "chunk", "born", "died", "text", "dense", "doc", "kind", "source", "channel", "author",
              "created_at", "tags", "groups", AUDIENCE)
COUNT_CACHE = 4096
"""Counts a reader keeps (its generation never changes, so a count never goes stale)."""
DF_PROBE = 64
"""Fewest rows a BM25 probe may return before a document frequency is counted with
``TEXT_MATCH`` (see :func:`probe_limit`)."""


class _Clients:
    """One client per server (or embedded file) per process, closed with its last user."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, tuple[Any, int]] = {}

    def acquire(self, options: MilvusOptions, index_root: Path) -> tuple[str, Any]:
        key = f"{options.resolved_uri(index_root)}|{options.db_name}"
        with self._lock:
            client, users = self._open.get(key) or (connect(options, index_root), 0)
            self._open[key] = (client, users + 1)
        return key, client

    def release(self, key: str) -> None:
        with self._lock:
            client, users = self._open[key]
            if users > 1:
                self._open[key] = (client, users - 1)
                return
            del self._open[key]
        client.close()


CLIENTS = _Clients()


class _Reader:
    """What both read parts share: a client, the collection and the snapshot's generation."""

    def __init__(self, place: Place) -> None:
        self.options = options_of(MilvusOptions, place.options, "milvus")
        meta = read_meta(place.path)
        index_root = place.path.parent.parent
        self.collection = meta.get("collection") or collection_name(index_root)
        self.generation = int(meta.get("generation", 0))
        audiences = meta.get("audiences")
        self.audiences: list[str] | None = None if audiences is None else list(audiences)
        self.dimension = place.dimension
        self._key, self.client = CLIENTS.acquire(self.options, index_root)
        ensure_collection(self.client, self.collection, place.dimension, self.options)
        self._counts: dict[str, int] = {}
        self._closed = False

    def where(self, where: Filters, groups: Groups) -> str:
        """The engine expression for this snapshot's rows passing ``where`` that ``groups`` may see."""
        return expression(self.generation, where, groups, self.audiences)

    def count(self, extra: str = "") -> int:
        """Rows of this snapshot (and matching ``extra``), counted once: a count in milvus-lite
        reads every matching row in full, and the snapshot's generation never changes."""
        if extra not in self._counts:
            expr = f"born <= {self.generation} and died > {self.generation}" + (f" and {extra}" if extra else "")
            rows = self.client.query(self.collection, filter=expr, output_fields=["count(*)"])
            self._remember(extra, int(rows[0]["count(*)"]) if rows else 0)
        return self._counts[extra]

    def _remember(self, key: str, value: int) -> None:
        if len(self._counts) >= COUNT_CACHE:
            self._counts.clear()
        self._counts[key] = value

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            CLIENTS.release(self._key)


class MilvusVectors(_Reader):
    """:class:`~retrieval.storage.VectorIndex` over the collection's ``dense`` field; ``kind``
    is ``milvus-`` and the dense index type (``milvus-flat``, ``milvus-hnsw``, ...)."""

    def __init__(self, place: Place) -> None:
        super().__init__(place)
        self.kind = f"milvus-{self.options.index_type.lower()}"

    def __len__(self) -> int:
        return self.count()

    def search(self, vector: np.ndarray, k: int, where: Filters, groups: Groups) -> Scored:
        """See :class:`~retrieval.storage.VectorIndex`."""
        if k <= 0:
            return []
        params = {"metric_type": "IP", "params": dict(self.options.search_params or {})}
        hits = self.client.search(
            self.collection, data=[np.asarray(vector, dtype=np.float32).tolist()], anns_field="dense",
            limit=min(k, MAX_LIMIT), filter=self.where(where, groups), output_fields=["chunk"],
            search_params=params,
        )
        return [(int(hit["entity"]["chunk"]), float(hit["distance"])) for hit in hits[0]]

    def search_many(self, vectors: np.ndarray, k: int, where: Filters, groups: Groups) -> list[Scored]:
        """See :class:`~retrieval.storage.VectorIndex` (one request carrying every vector)."""
        if k <= 0 or not len(vectors):
            return [[] for _ in vectors]
        params = {"metric_type": "IP", "params": dict(self.options.search_params or {})}
        hits = self.client.search(
            self.collection, data=[np.asarray(v, dtype=np.float32).tolist() for v in vectors], anns_field="dense",
            limit=min(k, MAX_LIMIT), filter=self.where(where, groups), output_fields=["chunk"],
            search_params=params,
        )
        return [[(int(hit["entity"]["chunk"]), float(hit["distance"])) for hit in row] for row in hits]

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """See :class:`~retrieval.storage.VectorIndex`."""
        return _vectors(self.client, self.collection, self.generation, ids, self.dimension)


class MilvusText(_Reader):
    """:class:`~retrieval.storage.LexicalIndex` over Milvus's BM25 full-text search (the
    engine's standard analyzer: lower-cased word tokens)."""

    concurrent = False
    """The client is shared with the vector side; calls stay on the caller's thread."""

    def __init__(self, place: Place) -> None:
        super().__init__(place)
        self._path = place.path
        self._terms: dict[str, int] | None = None
        self._terms_read = False

    def search(self, text: str, k: int, where: Filters, groups: Groups) -> Scored:
        """See :class:`~retrieval.storage.LexicalIndex`. The question's content words
        (``words.query_words``: Milvus Lite's analyzer keeps stop words) go to the engine's BM25.
        Milvus Lite reports BM25 as a negative distance and a server as a positive score; both
        become the positive score."""
        words = query_words(text)
        if k <= 0 or not words:
            return []
        try:
            hits = self.client.search(
                self.collection, data=[" ".join(words)[:MAX_TEXT]], anns_field="sparse", limit=min(k, MAX_LIMIT),
                filter=self.where(where, groups), output_fields=["chunk"],
                search_params={"metric_type": "BM25"},
            )
        except Exception:  # noqa: BLE001 - an unparseable question finds nothing, never an error
            log.warning("milvus full-text search failed; returning no lexical hits", exc_info=True)
            return []
        return [(int(hit["entity"]["chunk"]), abs(float(hit["distance"]))) for hit in hits[0]]

    def document_frequency(self, word: str) -> int:
        """See :class:`~retrieval.storage.LexicalIndex`: the rows holding ``word``'s token.

        Looked up in the snapshot's token table (``milvus-terms.json``, written by the build);
        a word the analyzer splits into several tokens (``cardano-node``, ``don't``) counts as
        its rarest token, an upper bound of the rows holding them together (FTS5 counts the
        phrase).

        A snapshot without the table counts with the engine, as ``TEXT_MATCH`` does (rows
        holding any of the tokens): a BM25 search for ``word`` alone scores exactly those rows,
        so when it finds fewer rows than it was allowed their number is the answer; a commoner
        word is counted with ``TEXT_MATCH``. Both read rows in full in milvus-lite — a probe
        ~0.35 ms a row found, ``TEXT_MATCH`` every row (~20 s at 100k chunks) — so the probe may
        find up to a third of the rows (:func:`probe_limit`). Counts are kept per snapshot."""
        found = tokens(word)
        if not found:
            return 0
        table = self.terms()
        if table is not None:
            return min(table.get(token, 0) for token in found)
        key = f"TEXT_MATCH(text, {literal(word)})"
        if key not in self._counts:
            limit = probe_limit(self.count())
            hits = self.client.search(
                self.collection, data=[word[:MAX_TEXT]], anns_field="sparse", limit=limit,
                filter=f"born <= {self.generation} and died > {self.generation}", output_fields=["chunk"],
                search_params={"metric_type": "BM25"},
            )[0]
            if len(hits) < limit:
                self._remember(key, len(hits))
        return self.count(key)

    def terms(self) -> dict[str, int] | None:
        """The snapshot's token table (read once; None if the build kept none)."""
        if not self._terms_read:
            self._terms, self._terms_read = read_terms(self._path), True
        return self._terms


def probe_limit(rows: int) -> int:
    """How many rows a document-frequency probe may return on a snapshot of ``rows`` rows:
    a third of them, between :data:`DF_PROBE` and Milvus's largest top k."""
    return max(DF_PROBE, min(MAX_LIMIT, rows // 3))


def _vectors(client: Any, collection: str, generation: int, ids: Sequence[int], dimension: int) -> np.ndarray:
    out = np.zeros((len(ids), dimension), dtype=np.float32)
    if not ids:
        return out
    found: dict[int, list[float]] = {}
    for start in range(0, len(ids), 1000):
        batch = [int(i) for i in ids[start : start + 1000]]
        expr = f"born <= {generation} and died > {generation} and chunk in {batch}"
        for row in client.query(collection, filter=expr, output_fields=["chunk", "dense"]):
            found[int(row["chunk"])] = row["dense"]
    for row, chunk in enumerate(ids):
        if int(chunk) not in found:
            raise KeyError(chunk)
        out[row] = found[int(chunk)]
    return out


class _Build:
    """One snapshot being written: generation ``g`` = the served one's + 1."""

    def __init__(self, place: Place) -> None:
        self.options = options_of(MilvusOptions, place.options, "milvus")
        self.path = place.path
        index_root = place.path.parent.parent
        self.collection = collection_name(index_root)
        previous = read_meta(place.previous) if place.previous is not None else {}
        self.generation = int(previous.get("generation", 0)) + 1
        self.dimension = place.dimension
        self._key, self.client = CLIENTS.acquire(self.options, index_root)
        ensure_collection(self.client, self.collection, place.dimension, self.options)
        # audience keys of every row this generation may hold: the previous snapshot's (its rows
        # carry on) and those added here; None for a collection made before the audience field
        self.audiences: set[str] | None = None
        if has_field(self.client, self.collection, AUDIENCE):
            self.audiences = {PUBLIC, *previous.get("audiences", ())}
        self.fields = [f for f in ROW_FIELDS if self.audiences is not None or f != AUDIENCE]
        # how many rows of this generation hold each token: the previous snapshot's table, then
        # kept up to date by add and remove (None when the previous snapshot has no table)
        self.terms: Counter[str] | None = None
        if self.audiences is not None:
            before = read_terms(place.previous) if place.previous is not None else {}
            self.terms = None if before is None else Counter(before)
        self._count: int | None = None
        self._undo(self.generation)  # rows a killed earlier build of this generation left
        self.users = 2  # the lexical and the vector part
        self.done = False

    def add(self, entries: Sequence[ChunkEntry], vectors: np.ndarray) -> None:
        rows = [_row(entry, vector, self.generation) for entry, vector in zip(entries, vectors, strict=True)]
        if self.audiences is None:
            for row in rows:
                del row[AUDIENCE]
        else:
            self.audiences.update(row[AUDIENCE] for row in rows)
        if self.terms is not None:
            for row in rows:
                self.terms.update(tokens(row["text"]))
        self._count = None
        for start in range(0, len(rows), 500):
            self.client.insert(self.collection, rows[start : start + 500])

    def remove(self, ids: Sequence[int]) -> None:
        g = self.generation
        self._count = None
        for start in range(0, len(ids), 1000):
            batch = [int(i) for i in ids[start : start + 1000]]
            expr = f"born <= {g} and died > {g} and chunk in {batch}"  # one visible row per chunk
            rows = self.client.query(self.collection, filter=expr, output_fields=self.fields, limit=len(batch))
            if self.terms is not None:
                for row in rows:
                    self.terms.subtract(tokens(row["text"]))
            fresh = [r["pk"] for r in rows if r["born"] == g]
            if fresh:
                self.client.delete(self.collection, ids=fresh)
            older = [dict(r, died=g) for r in rows if r["born"] != g]
            if older:
                self.client.upsert(self.collection, older)

    def count(self) -> int:
        """Rows of the generation being built (kept until the next add or remove: the lexical
        and the vector part ask in turn at commit, and milvus-lite reads every row to count)."""
        if self._count is None:
            g = self.generation
            rows = self.client.query(self.collection, filter=f"born <= {g} and died > {g}", output_fields=["count(*)"])
            self._count = int(rows[0]["count(*)"]) if rows else 0
        return self._count

    def commit(self) -> None:
        if not self.done:
            self.client.flush(self.collection)
            write_meta(self.path, self.collection, self.generation, self.audiences)
            if self.terms is not None:
                write_terms(self.path, self.terms)
            self.done = True

    def discard(self) -> None:
        if not self.done:
            self._undo(self.generation)
            self.done = True

    def _undo(self, g: int) -> None:
        """Forget generation ``g``'s writes: its new rows go, rows it removed come back."""
        self._count = None
        self.client.delete(self.collection, filter=f"born >= {g}")
        dead = f"died >= {g} and died < {ALIVE}"
        if not self.client.query(self.collection, filter=dead, output_fields=["pk"], limit=1):
            return
        revived = rows_alive(self.client, self.collection, dead, self.fields)
        if revived:
            self.client.upsert(self.collection, [dict(r, died=ALIVE) for r in revived])

    def release(self) -> None:
        self.users -= 1
        if self.users == 0:
            _BUILDS.pop(self.path, None)
            CLIENTS.release(self._key)


_BUILDS: dict[Path, _Build] = {}
_BUILDS_LOCK = threading.Lock()


def _build_for(place: Place) -> _Build:
    with _BUILDS_LOCK:
        if place.path not in _BUILDS:
            _BUILDS[place.path] = _Build(place)
        return _BUILDS[place.path]


def _row(entry: ChunkEntry, vector: np.ndarray, generation: int) -> dict[str, Any]:
    return {
        "pk": row_key(entry.id, generation), "chunk": entry.id, "born": generation, "died": ALIVE,
        "text": entry.text[:MAX_TEXT], "dense": np.asarray(vector, dtype=np.float32).tolist(),
        "doc": entry.doc_id, "kind": entry.kind, "source": entry.source, "channel": entry.channel,
        "author": entry.author or "", "created_at": entry.created_at or "",
        "tags": list(entry.tags)[:MAX_ARRAY], "groups": list(entry.groups)[:MAX_ARRAY],
        AUDIENCE: audience_key(entry.groups),
    }


class MilvusVectorBuilder:
    """:class:`~retrieval.storage.VectorBuilder`: writes the rows (text and vector together)."""

    def __init__(self, build: _Build) -> None:
        self.build = build
        self.dimension = build.dimension

    def __len__(self) -> int:
        return self.build.count()

    def add(self, entries: Sequence[ChunkEntry], vectors: np.ndarray) -> None:
        """See :class:`~retrieval.storage.VectorBuilder`."""
        self.build.add(entries, vectors)

    def remove(self, ids: Sequence[int]) -> None:
        """See :class:`~retrieval.storage.VectorBuilder`."""
        self.build.remove(ids)

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """See :class:`~retrieval.storage.VectorBuilder`."""
        return _vectors(self.build.client, self.build.collection, self.build.generation, ids, self.dimension)

    def commit(self) -> dict[str, Any]:
        """See :class:`~retrieval.storage.VectorBuilder`."""
        self.build.commit()
        facts = {"kind": f"milvus-{self.build.options.index_type.lower()}", "collection": self.build.collection,
                 "generation": self.build.generation}
        self.build.release()
        return facts

    def discard(self) -> None:
        """See :class:`~retrieval.storage.VectorBuilder`."""
        self.build.discard()
        self.build.release()


class MilvusLexicalBuilder:
    """:class:`~retrieval.storage.LexicalBuilder`: the rows' text is written with their
    vectors by :class:`MilvusVectorBuilder`, and Milvus derives the BM25 terms itself."""

    def __init__(self, build: _Build) -> None:
        self.build = build

    def add(self, entries: Sequence[ChunkEntry]) -> None:
        """See :class:`~retrieval.storage.LexicalBuilder` (the vector part inserts the rows)."""

    def remove(self, ids: Sequence[int]) -> None:
        """See :class:`~retrieval.storage.LexicalBuilder`."""
        self.build.remove(ids)

    def count(self) -> int:
        """See :class:`~retrieval.storage.LexicalBuilder`."""
        return self.build.count()

    def commit(self) -> dict[str, Any]:
        """See :class:`~retrieval.storage.LexicalBuilder`."""
        self.build.commit()
        self.build.release()
        return {"kind": "milvus-bm25"}

    def discard(self) -> None:
        """See :class:`~retrieval.storage.LexicalBuilder`."""
        self.build.discard()
        self.build.release()


def sweep(place: Place) -> None:
    """Delete the rows no remaining snapshot of the index directory can see.

    Called when snapshot ``place.path`` is swept: the live generations are those of the other
    snapshot folders beside it; a row that died at or before the oldest of them is unseen.
    """
    options = options_of(MilvusOptions, place.options, "milvus")
    folder = place.path.parent
    live = [int(read_meta(p).get("generation", 0)) for p in folder.iterdir() if p != place.path and p.is_dir()]
    live = [g for g in live if g > 0]
    if not live:
        return
    key, client = CLIENTS.acquire(options, folder.parent)
    try:
        name = collection_name(folder.parent)
        if client.has_collection(name):
            client.delete(name, filter=f"died <= {min(live)}")
    finally:
        CLIENTS.release(key)


class MilvusLexicalFactory:
    """Registered as lexical backend ``milvus``."""

    def open(self, place: Place, catalog: Catalog) -> MilvusText:
        """See :class:`~retrieval.storage.LexicalFactory`."""
        return MilvusText(place)

    def build(self, place: Place, catalog: CatalogBuilder) -> MilvusLexicalBuilder:
        """See :class:`~retrieval.storage.LexicalFactory`."""
        return MilvusLexicalBuilder(_build_for(place))

    def drop(self, place: Place) -> None:
        """See :class:`~retrieval.storage.LexicalFactory` (the vector part sweeps)."""


class MilvusVectorFactory:
    """Registered as vector backend ``milvus``."""

    def open(self, place: Place, catalog: Catalog) -> MilvusVectors:
        """See :class:`~retrieval.storage.VectorFactory`."""
        return MilvusVectors(place)

    def build(self, place: Place, catalog: CatalogBuilder) -> MilvusVectorBuilder:
        """See :class:`~retrieval.storage.VectorFactory`."""
        return MilvusVectorBuilder(_build_for(place))

    def drop(self, place: Place) -> None:
        """See :class:`~retrieval.storage.VectorFactory`."""
        sweep(place)
