"""A Stack Exchange dump staged in a temporary SQLite file, so threads can be assembled without
holding the dump in memory.

Answers follow their question in Posts.xml only by id (they come later, interleaved with other
questions), and comments, links and users sit in other files. One streaming pass over each file
writes the rows that matter into a throw-away database indexed by parent id; threads are then
read back one question at a time. Memory stays flat (SQLite's page cache plus one batch of
rows); disk use is about the size of the dump's text. The database lives in a temporary folder
that is removed when the stage is closed.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

from ingest.sources.base import Report
from ingest.sources.stackexchange_site import self_links
from ingest.sources.stackexchange_xml import Row, iter_rows
from ingest.sources.tree import Tree

BATCH = 2000
Staged = tuple[object, ...]  # one row as staged (the columns of its table)
Convert = Callable[[Row], Staged | None]
SELF_LINKS_KEPT = 5000  # enough votes to name the site; a bound for huge dumps

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
BODY_TYPES = (1, 2)  # questions and answers keep their text; other post types only their id


def _int(value: str | None) -> int | None:
    """An id attribute as an int, or None when absent, not a number or too big for SQLite."""
    try:
        number = int(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and abs(number) < 2**63 else None


def _post(row: Row) -> Staged | None:
    pid, kind = _int(row.get("Id")), _int(row.get("PostTypeId"))
    if pid is None or kind is None:
        return None
    keep = kind in BODY_TYPES
    return (
        pid, kind, _int(row.get("ParentId")), _int(row.get("AcceptedAnswerId")), row.get("CreationDate"),
        row.get("Score"), _int(row.get("OwnerUserId")), row.get("OwnerDisplayName"),
        row.get("Title") if keep else None, row.get("Tags") if keep else None, row.get("Body", "") if keep else None,
    )


def _comment(row: Row) -> Staged | None:
    cid, post = _int(row.get("Id")), _int(row.get("PostId"))
    if cid is None or post is None:
        return None
    return (cid, post, row.get("CreationDate"), row.get("Score"), _int(row.get("UserId")),
            row.get("UserDisplayName"), row.get("Text", ""))


def _link(row: Row) -> Staged | None:
    post, related, kind = _int(row.get("PostId")), _int(row.get("RelatedPostId")), _int(row.get("LinkTypeId"))
    return None if post is None or related is None or kind is None else (post, related, kind)


def _user(row: Row) -> Staged | None:
    uid = _int(row.get("Id"))
    return None if uid is None else (uid, row.get("DisplayName", ""), _int(row.get("AccountId")))


class Stage:
    """The dump's rows in a temporary SQLite database; use as a context manager."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="townsquare-se-")
        self.db = sqlite3.connect(Path(self._dir.name) / "stage.db")
        self.db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-16000;" + SCHEMA)
        self._self_links = 0

    def __enter__(self) -> Stage:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Drop the database and its folder."""
        self.db.close()
        self._dir.cleanup()

    def fill(self, tree: Tree, files: dict[str, str], report: Report) -> None:
        """Stream each dump file present (``files`` maps "Posts" etc. to names in ``tree``)."""
        plan = (("Posts", "posts", _post, 11), ("Comments", "comments", _comment, 7),
                ("PostLinks", "links", _link, 3), ("Users", "users", _user, 3))
        for kind, table, convert, width in plan:
            if kind in files:
                marks = ", ".join("?" * width)
                rows = self._rows(tree, files[kind], convert, report, posts=kind == "Posts")
                self._insert(f"INSERT OR IGNORE INTO {table} VALUES ({marks})", rows)
        self.db.executescript(INDEXES)

    def _rows(self, tree: Tree, name: str, convert: Convert, report: Report, *, posts: bool) -> Iterator[Staged]:
        skipped = 0
        for row in iter_rows(tree, name, report):
            values = convert(row)
            if values is None:
                skipped += 1
                continue
            if posts and values[1] in BODY_TYPES:
                self._note_self_links(str(values[10] or ""))
            yield values
        if skipped:
            report.warning(f"{tree.label}:{name}", f"{skipped} rows without a numeric id were skipped")

    def _note_self_links(self, body: str) -> None:
        if "/questions/" not in body or self._self_links >= SELF_LINKS_KEPT:
            return
        found = list(self_links(body))[: SELF_LINKS_KEPT - self._self_links]
        self.db.executemany("INSERT INTO self_links VALUES (?, ?, ?)", found)
        self._self_links += len(found)

    def _insert(self, sql: str, rows: Iterator[Staged]) -> None:
        batch: list[Staged] = []
        for values in rows:
            batch.append(values)
            if len(batch) >= BATCH:
                self.db.executemany(sql, batch)
                batch.clear()
        self.db.executemany(sql, batch)
        self.db.commit()

    def questions(self) -> Iterator[sqlite3.Row]:
        """Questions in id order: id, accepted, created, score, owner, owner_name, title, tags, body."""
        cursor = self.db.cursor()
        cursor.row_factory = sqlite3.Row
        yield from cursor.execute(
            "SELECT id, accepted, created, score, owner, owner_name, title, tags, body FROM posts WHERE type = 1 "
            "ORDER BY id"
        )

    def answers(self, question: int) -> list[sqlite3.Row]:
        """The answers to ``question`` in id (time) order, with the question's columns."""
        cursor = self.db.cursor()
        cursor.row_factory = sqlite3.Row
        return cursor.execute(
            "SELECT id, accepted, created, score, owner, owner_name, title, tags, body FROM posts "
            "WHERE parent = ? AND type = 2 ORDER BY id", (question,)
        ).fetchall()

    def comments(self, post: int) -> list[sqlite3.Row]:
        """The comments on ``post`` in id (time) order: id, created, score, user, user_name, text."""
        cursor = self.db.cursor()
        cursor.row_factory = sqlite3.Row
        return cursor.execute(
            "SELECT id, created, score, user, user_name, text FROM comments WHERE post = ? ORDER BY id", (post,)
        ).fetchall()

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
        queries = {
            "answers": "FROM posts a WHERE a.type = 2 AND NOT EXISTS "
                       "(SELECT 1 FROM posts q WHERE q.id = a.parent AND q.type = 1)",
            "comments": "FROM comments a WHERE NOT EXISTS (SELECT 1 FROM posts p WHERE p.id = a.post)",
        }
        found: dict[str, tuple[int, list[int]]] = {}
        for kind, rest in queries.items():
            count = self.db.execute(f"SELECT count(*) {rest}").fetchone()[0]
            if count:
                found[kind] = (count, [r[0] for r in self.db.execute(f"SELECT a.id {rest} ORDER BY a.id LIMIT 5")])
        return found
