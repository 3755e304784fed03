"""An index written by an earlier version keeps working: the next ingest migrates its catalog."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from ingest.pipeline import ingest
from retrieval.embedding import SentenceTransformerEmbedder
from retrieval.index import IndexDir
from tests.helpers import write_small_corpus

pytestmark = pytest.mark.integration
SE_SAMPLE = Path(__file__).resolve().parent.parent / "corpus" / "sample" / "exports" / "stackexchange"

VERSION_1_AUTHORSHIP = """
CREATE TABLE authorship_v1 (doc_id TEXT NOT NULL, post_id TEXT, member_id TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('question', 'answer', 'accepted', 'author')));
INSERT INTO authorship_v1 SELECT * FROM authorship;
DROP TABLE authorship;
ALTER TABLE authorship_v1 RENAME TO authorship;
PRAGMA user_version = 0;
"""
"""The catalog layout before comments had a role of their own (what older releases wrote;
they did not record a version). Fabricated here with SQL because no code of ours writes it
any more."""


def test_a_catalog_of_the_earlier_layout_is_migrated_by_the_next_ingest(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    corpus = write_small_corpus(tmp_path / "corpus")
    index = IndexDir(tmp_path / "index")
    ingest([corpus], index, embedder)
    current = index.current_path()
    assert current is not None
    catalog = current / "index.sqlite"
    catalog.chmod(0o644)
    with sqlite3.connect(catalog) as db:
        db.executescript(VERSION_1_AUTHORSHIP)
    shutil.copytree(SE_SAMPLE, corpus / "se")  # its comments need the new role
    summary = ingest([corpus], index, embedder)
    assert summary.errors == 0, summary.problems
    migrated = index.current_path()
    assert migrated is not None and migrated != current
    catalog_now = index.open().catalog
    se_threads = [d.id for d in catalog_now.list_documents("thread", ()) if d.source == "stackexchange"]
    roles = {c.role for c in catalog_now.contributions(se_threads, ())}
    assert {"question", "comment"} <= roles
