"""The SQLite schema of a snapshot's catalog (``index.sqlite``); the FTS5 table is the lexical
backend's own (``fts5.py``)."""

SCHEMA_VERSION = 2
"""Kept in the catalog file as ``PRAGMA user_version``; :data:`MIGRATIONS` brings an older
snapshot's catalog up to it when an ingest copies that snapshot (0 = a file written before the
version was recorded, which has the version-1 layout)."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('thread', 'resource')),
    source TEXT NOT NULL,
    source_path TEXT NOT NULL,
    channel TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL,
    url TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]',
    visibility TEXT NOT NULL DEFAULT '[]',
    is_public INTEGER NOT NULL,
    created_at TEXT,
    body TEXT,
    content_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS doc_groups (doc_id TEXT NOT NULL, grp TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS doc_groups_doc ON doc_groups (doc_id);
CREATE TABLE IF NOT EXISTS doc_tags (doc_id TEXT NOT NULL, tag TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS doc_tags_tag ON doc_tags (tag);
CREATE INDEX IF NOT EXISTS doc_tags_doc ON doc_tags (doc_id);
CREATE TABLE IF NOT EXISTS posts (
    id TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    author TEXT NOT NULL,
    created_at TEXT,
    text TEXT NOT NULL,
    reply_to TEXT,
    accepted INTEGER NOT NULL DEFAULT 0,
    score INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS posts_doc ON posts (doc_id);
CREATE INDEX IF NOT EXISTS posts_author ON posts (author);
CREATE TABLE IF NOT EXISTS members (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    handles TEXT NOT NULL DEFAULT '{}',
    opt_out INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS authorship (
    doc_id TEXT NOT NULL,
    post_id TEXT,
    member_id TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('question', 'answer', 'accepted', 'comment', 'author'))
);
CREATE INDEX IF NOT EXISTS authorship_member ON authorship (member_id);
CREATE INDEX IF NOT EXISTS authorship_doc ON authorship (doc_id);
CREATE INDEX IF NOT EXISTS authorship_post ON authorship (post_id);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL,
    post_id TEXT,
    ordinal INTEGER NOT NULL,
    section TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL,
    body TEXT NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    author TEXT,
    created_at TEXT,
    text_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks (doc_id);
CREATE INDEX IF NOT EXISTS chunks_hash ON chunks (text_hash);
"""

MIGRATIONS: dict[int, str] = {
    # 1 -> 2: authorship rows may have the role 'comment' (Stack Exchange comments count as
    # evidence of their own kind, not as answers). SQLite cannot change a CHECK constraint in
    # place, so the table is rebuilt with its rows.
    1: """
    CREATE TABLE authorship_v2 (
        doc_id TEXT NOT NULL,
        post_id TEXT,
        member_id TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('question', 'answer', 'accepted', 'comment', 'author'))
    );
    INSERT INTO authorship_v2 SELECT doc_id, post_id, member_id, role FROM authorship;
    DROP TABLE authorship;
    ALTER TABLE authorship_v2 RENAME TO authorship;
    CREATE INDEX IF NOT EXISTS authorship_member ON authorship (member_id);
    CREATE INDEX IF NOT EXISTS authorship_doc ON authorship (doc_id);
    """,
}
"""Version -> the SQL script that turns a catalog of that version into the next one."""
