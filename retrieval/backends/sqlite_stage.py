"""The SQL of the Stack Exchange loader's staging area (``ingest/sources/stackexchange_stage.py``):
a throw-away SQLite file holding the dump's rows, indexed by parent id, so threads can be
assembled one question at a time with flat memory. Kept here with the rest of the SQL; it is
scratch space of one ingest, never part of a snapshot.

Row shapes (tuples, in column order): posts ``(id, type, parent, accepted, created, score,
owner, owner_name, title, tags, body)``, comments ``(id, post, created, score, user,
user_name, text)``, links ``(post, related, type)``, users ``(id, name, account)``, self links
``(host, question, slug)``. Rows whose id is already staged are ignored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

SCHEMA = """
CREATE TABLE posts (id INTEGER PRIMARY KEY, type INTEGER, parent INTEGER, accepted INTEGER,
  created TEXT, score TEXT, owner INTEGER, owner_name TEXT, title TEXT, tags TEXT, body TEXT);
CREATE TABLE comments (id INTEGER PRIMARY KEY, post INTEGER, created TEXT, score TEXT,
  user INTEGER, user_name TEXT, text TEXT);
CREATE TABLE links (post INTEGER, related INTEGER, type INTEGER);
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, account INTEGER);
CREATE TABLE self_links (host TEXT, question INTEGER, slug TEXT);
"""
INDEXES = """
CREATE INDEX posts_parent ON posts (parent, type);
CREATE INDEX comments_post ON comments (post);
CREATE INDEX links_post ON links (post);
"""
WIDTHS = {"posts": 11, "comments": 7, "links": 3, "users": 3, "self_links": 3}
POST_COLUMNS = "id, accepted, created, score, owner, owner_name, title, tags, body"
ORPHANS = {
    "answers": "FROM posts a WHERE a.type = 2 "
               "AND NOT EXISTS (SELECT 1 FROM posts q WHERE q.id = a.parent AND q.type = 1)",
    "comments": "FROM comments a WHERE NOT EXISTS (SELECT 1 FROM posts p WHERE p.id = a.post)",
}


class StageTables:
    """The staged rows in the SQLite file ``path`` (created; fast and unsafe on purpose: the
    file is thrown away after one ingest). Read rows are :class:`sqlite3.Row` (by column name)."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)
        self.db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-16000;" + SCHEMA)

    def close(self) -> None:
        """Close the database (the caller removes the file)."""
        self.db.close()

    def insert(self, table: str, batches: Iterable[Sequence[tuple[object, ...]]]) -> None:
        """Stage every row of ``batches`` into ``table`` (a key of :data:`WIDTHS`), then commit."""
        sql = f"INSERT OR IGNORE INTO {table} VALUES ({', '.join('?' * WIDTHS[table])})"
        for batch in batches:
            self.db.executemany(sql, batch)
        self.db.commit()

    def finish(self) -> None:
        """Index the staged rows by parent (call once, after every insert)."""
        self.db.executescript(INDEXES)

    def _select(self, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Cursor:
        cursor = self.db.cursor()
        cursor.row_factory = sqlite3.Row
        return cursor.execute(sql, params)

    def questions(self) -> Iterator[sqlite3.Row]:
        """Questions in id order: id, accepted, created, score, owner, owner_name, title, tags, body."""
        yield from self._select(f"SELECT {POST_COLUMNS} FROM posts WHERE type = 1 ORDER BY id")

    def answers(self, question: int) -> list[sqlite3.Row]:
        """The answers to ``question`` in id (time) order, with the question's columns."""
        return self._select(f"SELECT {POST_COLUMNS} FROM posts WHERE parent = ? AND type = 2 ORDER BY id",
                          (question,)).fetchall()

    def comments(self, post: int) -> list[sqlite3.Row]:
        """The comments on ``post`` in id (time) order: id, created, score, user, user_name, text."""
        return self._select("SELECT id, created, score, user, user_name, text FROM comments WHERE post = ? ORDER BY id",
                          (post,)).fetchall()

    def links(self, post: int) -> list[tuple[int, int]]:
        """(related post id, link type) of the links from ``post`` to questions in the dump."""
        return self.db.execute(
            "SELECT DISTINCT l.related, l.type FROM links l JOIN posts p ON p.id = l.related AND p.type = 1 "
            "WHERE l.post = ? ORDER BY l.type DESC, l.related", (post,)
        ).fetchall()

    def user(self, uid: int) -> tuple[str, int | None] | None:
        """(display name, network account id) of a user in Users.xml, or None."""
        row = self.db.execute("SELECT name, account FROM users WHERE id = ?", (uid,)).fetchone()
        return None if row is None else (row[0] or "", row[1])

    def has_users(self) -> bool:
        """True when Users.xml gave at least one user."""
        return self.db.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None

    def self_link_titles(self) -> list[tuple[str, str, str]]:
        """(host, link slug, linked question's title) of the links to questions of this dump."""
        return self.db.execute(
            "SELECT s.host, s.slug, p.title FROM self_links s JOIN posts p ON p.id = s.question AND p.type = 1"
        ).fetchall()

    def orphans(self) -> dict[str, tuple[int, list[int]]]:
        """For "answers" whose question and "comments" whose post is missing from the dump:
        how many, and the first five ids (only those with any)."""
        found: dict[str, tuple[int, list[int]]] = {}
        for kind, rest in ORPHANS.items():
            count = self.db.execute(f"SELECT count(*) {rest}").fetchone()[0]
            if count:
                found[kind] = (count, [r[0] for r in self.db.execute(f"SELECT a.id {rest} ORDER BY a.id LIMIT 5")])
        return found
