"""A Stack Exchange dump staged in a temporary SQLite file, so threads can be assembled without
holding the dump in memory.

Answers follow their question in Posts.xml only by id (they come later, interleaved with other
questions), and comments, links and users sit in other files. One streaming pass over each file
writes the rows that matter into a throw-away database indexed by parent id; threads are then
read back one question at a time. Memory stays flat (SQLite's page cache plus one batch of
rows); disk use is about the size of the dump's text. The database lives in a temporary folder
that is removed when the stage is closed; its SQL is in ``retrieval/backends/sqlite_stage.py``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

from ingest.sources.base import Report
from ingest.sources.stackexchange_site import self_links
from ingest.sources.stackexchange_xml import Row, iter_rows
from ingest.sources.tree import Tree
from retrieval.backends.sqlite_stage import StageTables

BATCH = 2000
Staged = tuple[object, ...]  # one row as staged (the columns of its table)
Convert = Callable[[Row], Staged | None]
SELF_LINKS_KEPT = 5000  # enough votes to name the site; a bound for huge dumps

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


class Stage(StageTables):
    """The dump's rows in a temporary SQLite database (:class:`StageTables` reads them); use
    as a context manager."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="townsquare-se-")
        super().__init__(Path(self._dir.name) / "stage.db")
        self._self_links = 0

    def __enter__(self) -> Stage:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Drop the database and its folder."""
        super().close()
        self._dir.cleanup()

    def fill(self, tree: Tree, files: dict[str, str], report: Report) -> None:
        """Stream each dump file present (``files`` maps "Posts" etc. to names in ``tree``)."""
        plan = (("Posts", "posts", _post), ("Comments", "comments", _comment), ("PostLinks", "links", _link),
                ("Users", "users", _user))
        for kind, table, convert in plan:
            if kind in files:
                self.insert(table, _batches(self._rows(tree, files[kind], convert, report, posts=kind == "Posts")))
        self.finish()

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
        self.insert("self_links", [found])
        self._self_links += len(found)


def _batches(rows: Iterator[Staged]) -> Iterator[list[Staged]]:
    """``rows`` in lists of :data:`BATCH` (memory stays flat)."""
    batch: list[Staged] = []
    for values in rows:
        batch.append(values)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    yield batch
