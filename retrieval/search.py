"""Hybrid retrieval: FAISS dense similarity and SQLite FTS5 bm25(), fused (``fusion.py``),
with filters and visibility applied before the top k is cut.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from retrieval.cjk import CJK_CHARS, CJK_RUN, bigrams, nfc
from retrieval.embedding import Embedder
from retrieval.filters import Filters, chunk_filter_sql
from retrieval.fusion import get_fuser
from retrieval.index import Snapshot

Mode = Literal["hybrid", "dense", "lexical"]
MAX_CANDIDATES = 5000
COMMON_SHARE = 0.05
COMMON_MIN_CHUNKS = 2000
"""Query words found in more than COMMON_SHARE of the chunks, and in more than
COMMON_MIN_CHUNKS of them, are left out of the lexical query (small indexes keep every word)."""
WORDS = re.compile(rf"[{CJK_CHARS}]+|[^\W{CJK_CHARS}]+")
STOPWORDS = frozenset(
    "a an and are as at be but by can do does for from has have how i if in into is it its "
    "me my no not of on or should so than that the their them then there these they this to "
    "was we what when where which who why will with would you your".split()
)


@dataclass
class Hit:
    """One retrieved chunk with what a reader needs to judge and open it."""

    chunk_id: int
    doc_id: str
    kind: str
    post_id: str | None
    title: str
    channel: str
    url: str
    section: str
    text: str
    start: int
    end: int
    author: str | None
    author_name: str | None
    created_at: str | None
    score: float
    similarity: float
    role: str = ""
    accepted: bool = False
    post_score: int = 0
    tags: list[str] = field(default_factory=list)
    more: list[Hit] = field(default_factory=list)
    """Other matching chunks of the same document, when results are collapsed."""


def content_words(text: str) -> list[str]:
    """The question's distinct words that are not stopwords, in order (NFC, lower-cased). A run
    of CJK characters gives its character pairs, each written as the two-token phrase the
    lexical index holds (``"糖 饼"``; see :mod:`retrieval.cjk`)."""
    words: list[str] = []
    for word in WORDS.findall(nfc(text).lower()):
        if CJK_RUN.fullmatch(word):
            words.extend(" ".join(pair) for pair in bigrams(word))
        elif word not in STOPWORDS and len(word) > 1:
            words.append(word)
    return list(dict.fromkeys(words))


def fts_query(text: str) -> str:
    """An FTS5 MATCH expression: the question's content words, OR-ed, each quoted."""
    return match_words(content_words(text))


def match_words(words: list[str]) -> str:
    """An FTS5 MATCH expression OR-ing ``words`` (from :func:`content_words`), each quoted."""
    return " OR ".join(f'"{w}"' for w in words)


class Searcher:
    """Searches one snapshot; cheap to create, holds a small cache of filter results."""

    def __init__(
        self, snapshot: Snapshot, embedder: Embedder, *, fusion: str = "convex", candidates: int = 100,
        **fusion_options: float,
    ) -> None:
        self.snapshot = snapshot
        self.embedder = embedder
        self.fuse = get_fuser(fusion)
        self.fusion_options = fusion_options
        self.candidates = candidates
        self._df: dict[str, int] = {}
        self._n_chunks = int(snapshot.db.execute("SELECT count(*) FROM chunks").fetchone()[0])
        self._allowed: OrderedDict[tuple[object, ...], np.ndarray | None] = OrderedDict()
        self._has_private = bool(snapshot.db.execute("SELECT 1 FROM documents WHERE is_public = 0 LIMIT 1").fetchone())

    def search(
        self, query: str, k: int = 10, filters: Filters | None = None, groups: tuple[str, ...] = (),
        collapse: bool = True, mode: Mode = "hybrid",
    ) -> list[Hit]:
        """The best ``k`` hits for ``query`` that ``groups`` may see and ``filters`` allow.

        With ``collapse``, one hit per document (its best chunk, the rest in ``Hit.more``).
        A blank query finds nothing.
        """
        if not query.strip():
            return []
        query = nfc(query)  # indexed text is NFC too
        filters = filters or Filters()
        vector = self.embedder.embed([query])[0]
        allowed = self.allowed_ids(filters, groups)
        pool = max(self.candidates, k)
        while True:
            fused = self._fuse(query, vector, pool, filters, groups, allowed, mode)
            hits = self.hits(fused, vector)
            page = collapse_by_document(hits) if collapse else hits
            exhausted = len(fused) < pool or pool >= MAX_CANDIDATES
            if len(page) >= k or exhausted:
                return page[:k]
            pool *= 4

    def _fuse(
        self, query: str, vector: np.ndarray, pool: int, filters: Filters, groups: tuple[str, ...],
        allowed: np.ndarray | None, mode: Mode,
    ) -> list[tuple[int, float]]:
        dense: list[tuple[int, float]] = []
        lexical: list[tuple[int, float]] = []
        if mode in ("hybrid", "dense"):
            ids, scores = self.snapshot.vectors.search(vector, pool, allowed)
            dense = [(int(i), float(s)) for i, s in zip(ids, scores, strict=True)]
        if mode in ("hybrid", "lexical"):
            lexical = self._lexical(query, pool, filters, groups)
        if mode == "hybrid":
            fused = self.fuse(dense, lexical, **self.fusion_options)
        else:
            fused = dict(dense or lexical)
        return sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:pool]

    def _lexical(self, query: str, pool: int, filters: Filters, groups: tuple[str, ...]) -> list[tuple[int, float]]:
        """FTS5 candidates as (chunk id, -bm25) pairs, best first (bm25() is lower-is-better)."""
        match = match_words(self._selective(content_words(query)))
        if not match:
            return []
        sql = "SELECT rowid, bm25(chunk_fts) FROM chunk_fts WHERE chunk_fts MATCH ?"
        params: list[object] = [match]
        if not filters.is_empty() or self._has_private:
            subquery, sub_params = chunk_filter_sql(filters, groups)
            sql += f" AND rowid IN ({subquery})"
            params += sub_params
        sql += " ORDER BY bm25(chunk_fts) LIMIT ?"
        try:
            return [(r[0], -r[1]) for r in self.snapshot.db.execute(sql, [*params, pool])]
        except sqlite3.OperationalError:  # a query FTS5 cannot parse finds nothing lexically
            return []

    def _selective(self, words: list[str]) -> list[str]:
        """Drop very common words (see :data:`COMMON_SHARE`), keeping the rarest one if all are
        common: they barely move BM25, yet their long posting lists are most of the FTS5
        query's cost on a big index (docs/benchmarks.md, latency)."""
        limit = max(COMMON_SHARE * self._n_chunks, COMMON_MIN_CHUNKS)
        if len(words) < 2 or self._n_chunks <= limit:
            return words
        frequency = {w: self._document_frequency(w) for w in words}
        return [w for w in words if frequency[w] <= limit] or [min(words, key=frequency.__getitem__)]

    def _document_frequency(self, word: str) -> int:
        if word not in self._df:
            if len(self._df) > 50_000:
                self._df.clear()
            sql = "SELECT count(*) FROM chunk_fts WHERE chunk_fts MATCH ?"
            try:
                self._df[word] = int(self.snapshot.db.execute(sql, (f'"{word}"',)).fetchone()[0])
            except sqlite3.OperationalError:
                self._df[word] = 0
        return self._df[word]

    def allowed_ids(self, filters: Filters, groups: tuple[str, ...]) -> np.ndarray | None:
        """Chunk ids the dense search may return (None: all of them), cached per filter."""
        if filters.is_empty() and not self._has_private:
            return None
        key = (filters, groups)
        if key not in self._allowed:
            sql, params = chunk_filter_sql(filters, groups)
            ids = np.array([r[0] for r in self.snapshot.db.execute(sql, params)], dtype=np.int64)
            self._allowed[key] = ids
            if len(self._allowed) > 64:
                self._allowed.popitem(last=False)
        return self._allowed[key]

    def hits(self, fused: list[tuple[int, float]], vector: np.ndarray) -> list[Hit]:
        """Hits for (chunk id, fused score) pairs, each with its cosine similarity to ``vector``."""
        if not fused:
            return []
        ids = np.array([i for i, _ in fused], dtype=np.int64)
        similarity = self.snapshot.vectors.reconstruct(ids) @ vector
        rows = fetch_chunk_rows(self.snapshot.db, [int(i) for i in ids])
        hits = []
        for (chunk_id, score), sim in zip(fused, similarity, strict=True):
            row = rows.get(chunk_id)
            if row is not None:
                hits.append(hit_from_row(row, score, float(sim)))
        return hits


def collapse_by_document(hits: list[Hit]) -> list[Hit]:
    """Keep each document's best hit, attaching its other hits to ``more``."""
    best: dict[str, Hit] = {}
    for hit in hits:
        if hit.doc_id in best:
            best[hit.doc_id].more.append(hit)
        else:
            best[hit.doc_id] = hit
    return list(best.values())


CHUNK_ROW_SQL = """
SELECT c.id, c.doc_id, c.post_id, c.section, c.body, c.start, c."end", c.author, c.created_at,
       d.kind, d.title, d.channel, d.url, d.tags, m.name AS author_name,
       p.position, p.accepted, p.score AS post_score
FROM chunks c JOIN documents d ON d.id = c.doc_id
LEFT JOIN members m ON m.id = c.author
LEFT JOIN posts p ON p.id = c.post_id
WHERE c.id IN ({marks})
"""


def fetch_chunk_rows(db: sqlite3.Connection, ids: list[int]) -> dict[int, sqlite3.Row]:
    """Chunk rows joined with their document, author and post, keyed by chunk id."""
    rows: dict[int, sqlite3.Row] = {}
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        sql = CHUNK_ROW_SQL.format(marks=",".join("?" * len(part)))
        rows.update({r["id"]: r for r in db.execute(sql, part)})
    return rows


def hit_from_row(row: sqlite3.Row, score: float, similarity: float) -> Hit:
    """Build a :class:`Hit` from a :data:`CHUNK_ROW_SQL` row."""
    position = row["position"]
    role = "" if position is None else "question" if position == 0 else (
        "accepted answer" if row["accepted"] else "answer"
    )
    return Hit(
        chunk_id=row["id"], doc_id=row["doc_id"], kind=row["kind"], post_id=row["post_id"],
        title=row["title"], channel=row["channel"], url=row["url"], section=row["section"],
        text=row["body"], start=row["start"], end=row["end"], author=row["author"],
        author_name=row["author_name"], created_at=row["created_at"], score=round(score, 6),
        similarity=round(similarity, 4), role=role, accepted=bool(row["accepted"]),
        post_score=int(row["post_score"] or 0), tags=json.loads(row["tags"]),
    )


def related_documents(searcher: Searcher, doc_id: str, k: int = 5, groups: tuple[str, ...] = ()) -> list[Hit]:
    """Documents most similar to ``doc_id`` (by the mean of its chunk vectors), itself excluded."""
    snapshot = searcher.snapshot
    ids = np.array([r[0] for r in snapshot.db.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,))],
                   dtype=np.int64)
    if not len(ids):
        return []
    centre = snapshot.vectors.reconstruct(ids).mean(axis=0)
    centre /= np.linalg.norm(centre) or 1.0
    allowed = searcher.allowed_ids(Filters(), groups)
    found, _ = snapshot.vectors.search(centre, searcher.candidates, allowed)
    ranked = [(int(i), 1.0 / (rank + 1)) for rank, i in enumerate(found) if int(i) not in set(ids.tolist())]
    hits = [h for h in collapse_by_document(searcher.hits(ranked, centre)) if h.doc_id != doc_id]
    return hits[:k]
