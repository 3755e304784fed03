"""The storage seam: the three Protocols every feature module reads through, and the builder
Protocols a :class:`~retrieval.writer.SnapshotWriter` writes through.

- :class:`Catalog` — the read model of documents, posts, members, authorship, facets and
  content hashes, with the visibility rule applied inside it.
- :class:`LexicalIndex` — keyword (BM25-like) search over chunk texts.
- :class:`VectorIndex` — dense inner-product search over unit vectors keyed by chunk id.

Every search takes the caller's :class:`~retrieval.filters.Filters` and groups and applies
both *before* its top ``k`` is cut (no leaks, no short pages); each backend translates them
itself (SQL, FAISS id selectors, an engine's filter expression). Private content — a
document whose groups do not meet the caller's — is never returned by any method that takes
``groups``. Scores are "higher is better"; ties are broken by the caller.

Backends live in ``retrieval/backends/`` and register a factory per component (see
``retrieval/backends/__init__.py``); nothing outside that package speaks SQL or FAISS.
All ids are chunk ids (positive int64, ``hashing.chunk_id``) or document/member ids (str).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from retrieval.filters import Filters
from retrieval.records import Chunk, Document, Member
from retrieval.views import (
    ChunkEntry,
    ChunkInfo,
    ContributionInfo,
    DocumentInfo,
    Groups,
    PostInfo,
    ThreadStats,
)

if TYPE_CHECKING:  # annotations only: the settings import this module, and numpy is slow to load
    import numpy as np

Scored = list[tuple[int, float]]
"""(chunk id, score) pairs, best first."""


class Catalog(Protocol):
    """The read model of one immutable snapshot. Methods taking ``groups`` return only what
    members of those groups may see (public content, plus content of their groups)."""

    def counts(self, groups: Groups | None = None) -> dict[str, int]:
        """Totals of ``threads``, ``posts``, ``resources``, ``chunks`` and ``members``: of
        every document, whatever its visibility, when ``groups`` is None (for the manifest);
        else of what ``groups`` may see, members counted as :meth:`members` lists them."""
        ...

    def select_chunks(self, where: Filters, groups: Groups) -> np.ndarray | None:
        """Ids (int64, any order) of every chunk passing ``where`` that ``groups`` may see,
        or None when nothing is restricted (no filter and no private document at all)."""
        ...

    def chunks(self, ids: Sequence[int], groups: Groups) -> dict[int, ChunkInfo]:
        """The visible chunks among ``ids``, keyed by id; unknown or hidden ids are absent."""
        ...

    def chunk_documents(self, ids: Sequence[int], groups: Groups) -> dict[int, str]:
        """The document id of each visible chunk among ``ids`` (unknown or hidden ids are
        absent): what :meth:`chunks` would return, reduced to ``ChunkInfo.doc_id``, for a
        caller that needs the rest of the record for only some of them."""
        ...

    def chunk_ids(self, doc_ids: Collection[str], groups: Groups) -> dict[str, list[int]]:
        """Chunk ids of each visible document of ``doc_ids`` in reading order (documents
        without chunks map to ``[]``; unknown or hidden ones are absent)."""
        ...

    def documents(self, doc_ids: Collection[str], groups: Groups) -> dict[str, DocumentInfo]:
        """The visible documents among ``doc_ids``, keyed by id."""
        ...

    def list_documents(self, kind: str, groups: Groups) -> list[DocumentInfo]:
        """Every visible document of ``kind`` (``thread``/``resource``), by title then id."""
        ...

    def thread_stats(self, groups: Groups, limit: int) -> list[ThreadStats]:
        """The ``limit`` most recent visible threads (newest first, then by id) with their
        post counts and summed post scores; threads without posts are left out."""
        ...

    def posts_of(self, doc_ids: Collection[str], groups: Groups) -> list[PostInfo]:
        """Every post of the visible threads among ``doc_ids``, ordered by (doc id, position)."""
        ...

    def contributions(self, doc_ids: Collection[str], groups: Groups) -> list[ContributionInfo]:
        """Every contribution (post or resource authorship) to the visible documents among
        ``doc_ids``, ordered by (doc id, post position)."""
        ...

    def member_contributions(self, member_ids: Collection[str], groups: Groups) -> list[ContributionInfo]:
        """Every contribution *by* ``member_ids`` to documents ``groups`` may see, ordered by
        (member id, doc id)."""
        ...

    def top_answerers(self, groups: Groups, limit: int, since: str | None = None,
                      until: str | None = None) -> list[tuple[str, int]]:
        """The ``limit`` members with the most answering contributions (roles ``answer``,
        ``accepted``, ``author``) to documents ``groups`` may see, dated within [``since``,
        ``until``] (ISO, UTC; None: unbounded; undated contributions count unless ``since`` is
        given), as ``(member id, count)``, most first, ties by member id."""
        ...

    def latest_activity(self, groups: Groups, until: str | None = None) -> str | None:
        """The date (ISO, UTC) of the latest dated contribution (a post, else its document's
        date) to a document ``groups`` may see, not after ``until`` (ISO, UTC) when given;
        None when no such contribution is dated. The serving clock of expert suggestions:
        archives are measured against their own time (``until``: the wall clock, so a post
        dated in the future by a wrong clock does not move it)."""
        ...

    def members(self, ids: Collection[str] | None = None, groups: Groups | None = None) -> dict[str, Member]:
        """Members by id: those of ``ids`` that exist, or all of them when ``ids`` is None.
        With ``groups``, only members they may know of: those with a post or authorship in a
        document ``groups`` may see, and those with none at all (listed only in a members
        file). A member seen only in private documents does not exist for outsiders."""
        ...

    def facets(self, groups: Groups) -> dict[str, list[tuple[str, int]]]:
        """``channels``, ``tags`` and ``sources`` (the platform a document came from: native,
        slack, discourse, mail, ...) of visible documents with document counts, most used first,
        then by value (empty channels are left out)."""
        ...

    def post_documents(self, post_ids: Collection[str]) -> dict[str, str]:
        """The document holding each stored post of ``post_ids`` (unknown ids are absent),
        whatever its visibility: for ingest planning, never for callers."""
        ...

    def document_hashes(self) -> dict[str, tuple[str, str]]:
        """Every stored document: id -> (content hash, source path). For ingest planning."""
        ...

    def chunk_texts(self) -> list[tuple[int, str, str]]:
        """(chunk id, document id, embedded text) of every chunk, in chunk-id order, whatever
        its visibility: for exports and benchmarks, never for callers."""
        ...

    def close(self) -> None:
        """Release files and connections; the object is unusable afterwards."""
        ...


class LexicalIndex(Protocol):
    """Keyword search over chunk texts (``ChunkEntry.text``) with the backend's own analysis
    (tokens, stemming, stopwords)."""

    @property
    def concurrent(self) -> bool:
        """True when :meth:`search` may run in another thread while the caller's thread uses
        the other indexes of the snapshot (the searcher then overlaps the keyword search with
        embedding the question and the dense search)."""
        ...

    def search(self, text: str, k: int, where: Filters, groups: Groups) -> Scored:
        """Up to ``k`` (chunk id, score) pairs for the words of ``text``, best first, only
        chunks passing ``where`` that ``groups`` may see. A question with no searchable word
        (or one the engine cannot parse) finds nothing: ``[]``, never an error."""
        ...

    def document_frequency(self, word: str) -> int:
        """How many chunks contain ``word`` (after the backend's analysis), all visibilities.
        Only ever exposed as idf weights, never as text."""
        ...

    def count(self) -> int:
        """Chunks indexed."""
        ...

    def close(self) -> None:
        """Release files and connections."""
        ...


class VectorIndex(Protocol):
    """Dense search over L2-normalised float32 vectors keyed by chunk id; inner product is
    the cosine similarity."""

    kind: str
    """What the index is, for the manifest and stats (e.g. ``flat``, ``hnsw``)."""
    dimension: int

    def __len__(self) -> int:
        """Vectors held."""
        ...

    def search(self, vector: np.ndarray, k: int, where: Filters, groups: Groups) -> Scored:
        """Up to ``k`` (chunk id, cosine) pairs nearest ``vector`` (shape (d,)), best first,
        only chunks passing ``where`` that ``groups`` may see. Empty index: ``[]``."""
        ...

    def search_many(self, vectors: np.ndarray, k: int, where: Filters, groups: Groups) -> list[Scored]:
        """:meth:`search` for each row of ``vectors`` (shape (n, d)), in order: the same
        results, in one pass over the index where the backend can (many questions at once)."""
        ...

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """Stored vectors of ``ids``, shape (len(ids), d), float32, in the order given.

        Raises:
            KeyError: an id is not in the index.
        """
        ...

    def close(self) -> None:
        """Release files and connections."""
        ...


class CatalogBuilder(Catalog, Protocol):
    """A catalog being built into a new snapshot, seeded with the previous snapshot's
    content. Reads see the writes made so far."""

    def delete_members(self, member_ids: Collection[str]) -> None:
        """Delete members and their authorship (forgotten ones: their posts are already out)."""
        ...

    def put_members(self, members: Sequence[Member]) -> None:
        """Insert or update members (by id)."""
        ...

    def put_document(self, doc: Document, content_hash: str, source_path: str, chunks: Sequence[Chunk]) -> None:
        """Store ``doc`` with its posts, authorship, tags, groups and ``chunks``. The id must
        not be stored yet (the writer deletes a replaced document first)."""
        ...

    def delete_documents(self, doc_ids: Collection[str]) -> list[int]:
        """Remove documents with everything hanging off them; returns the removed chunk ids
        (unknown ids are ignored)."""
        ...

    def chunk_ids_by_text_hash(self, hashes: Collection[str]) -> dict[str, int]:
        """For each of ``hashes`` that a stored chunk's text has: one such chunk's id."""
        ...

    def commit(self) -> None:
        """Make the catalog durable and read-only in the snapshot folder."""
        ...

    def discard(self) -> None:
        """Abandon the build (the folder itself is removed by the writer)."""
        ...


class LexicalBuilder(Protocol):
    """A lexical index being built into a new snapshot, seeded with the previous one."""

    def add(self, entries: Sequence[ChunkEntry]) -> None:
        """Index new chunks (their ids must not be indexed yet)."""
        ...

    def remove(self, ids: Sequence[int]) -> None:
        """Drop chunks; unknown ids are ignored."""
        ...

    def count(self) -> int:
        """Chunks indexed so far."""
        ...

    def commit(self) -> dict[str, Any]:
        """Make the index durable for the snapshot; returns facts for the manifest."""
        ...

    def discard(self) -> None:
        """Abandon the build and release anything held outside the snapshot folder."""
        ...


class VectorBuilder(Protocol):
    """A vector index being built into a new snapshot, seeded with the previous one."""

    dimension: int

    def __len__(self) -> int:
        """Vectors held so far."""
        ...

    def add(self, entries: Sequence[ChunkEntry], vectors: np.ndarray) -> None:
        """Add one unit vector per entry (``vectors`` shape (len(entries), d)); the ids must be new."""
        ...

    def remove(self, ids: Sequence[int]) -> None:
        """Drop vectors; unknown ids are ignored."""
        ...

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """Stored vectors of ``ids`` (all must exist), shape (len(ids), d) — to reuse
        embeddings of unchanged texts."""
        ...

    def commit(self) -> dict[str, Any]:
        """Make the index durable for the snapshot (e.g. pick the index kind that fits its
        size); returns facts for the manifest, ``kind`` at least."""
        ...

    def discard(self) -> None:
        """Abandon the build and release anything held outside the snapshot folder."""
        ...


@dataclass(frozen=True)
class Place:
    """Where and how a backend component opens or builds its part of a snapshot.

    ``path`` is the snapshot folder (files a component writes go inside it; anything kept
    elsewhere, like an engine collection, should be named after ``path.name`` and the index
    directory ``path.parent.parent``). ``previous`` is the served snapshot a build starts
    from (None: empty). ``options`` are the settings under the component's own name.
    """

    path: Path
    dimension: int
    options: Mapping[str, Any] = field(default_factory=dict)
    previous: Path | None = None


class CatalogFactory(Protocol):
    """A registered catalog backend."""

    def open(self, place: Place) -> Catalog:
        """The snapshot's catalog, read-only."""
        ...

    def build(self, place: Place) -> CatalogBuilder:
        """A catalog for a new snapshot, seeded with ``place.previous``."""
        ...

    def drop(self, place: Place) -> None:
        """Release what a swept snapshot held outside its folder (often nothing)."""
        ...


class LexicalFactory(Protocol):
    """A registered lexical backend; it may share the catalog's storage."""

    def open(self, place: Place, catalog: Catalog) -> LexicalIndex:
        """The snapshot's lexical index, read-only."""
        ...

    def build(self, place: Place, catalog: CatalogBuilder) -> LexicalBuilder:
        """A lexical index for a new snapshot, seeded with ``place.previous``."""
        ...

    def drop(self, place: Place) -> None:
        """Release what a swept snapshot held outside its folder."""
        ...


class VectorFactory(Protocol):
    """A registered vector backend; it may resolve filters through the catalog."""

    def open(self, place: Place, catalog: Catalog) -> VectorIndex:
        """The snapshot's vector index, read-only."""
        ...

    def build(self, place: Place, catalog: CatalogBuilder) -> VectorBuilder:
        """A vector index for a new snapshot, seeded with ``place.previous``."""
        ...

    def drop(self, place: Place) -> None:
        """Release what a swept snapshot held outside its folder."""
        ...


@dataclass
class Storage:
    """The three read parts of one snapshot, opened together and closed together."""

    catalog: Catalog
    lexical: LexicalIndex
    vectors: VectorIndex

    def close(self) -> None:
        """Close the indexes, then the catalog they may lean on."""
        self.vectors.close()
        self.lexical.close()
        self.catalog.close()


@dataclass
class StorageBuilder:
    """The three write parts of a snapshot being built."""

    catalog: CatalogBuilder
    lexical: LexicalBuilder
    vectors: VectorBuilder

    def commit(self) -> dict[str, dict[str, Any]]:
        """Commit the indexes, then the catalog; returns each part's manifest facts."""
        facts = {"vectors": self.vectors.commit(), "lexical": self.lexical.commit()}
        self.catalog.commit()
        return facts

    def discard(self) -> None:
        """Abandon every part."""
        for part in (self.vectors, self.lexical, self.catalog):
            part.discard()
