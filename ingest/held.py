"""The rule that keeps a damaged export from replacing what is indexed.

A document assembled (even in part) from a source that had an error in this run may be
*added* when its id is new, but it never *replaces* a stored document: neither the stored
version of the same id, nor a stored thread it would supersede by carrying one of its posts
(:func:`ingest.pipeline.make_plan`). The stored version stays served, and one warning per
damaged source names it and the documents kept. A truncated ``Posts.xml``, a Slack day file
cut mid-message or an mbox with a broken message all end up here, whatever their loader:
loaders only report errors, this module decides what those errors protect.

A source is what a loader was offered: a file, or a folder or archive claimed whole by a tree
loader. Its errors are the problems located at its name, at ``name:...`` or inside it
(``name/...``), as :meth:`ingest.sources.base.Report.files_with_errors` lists them.
"""

from __future__ import annotations

from collections.abc import Iterable

from ingest.sources.base import Problem, Record, Report, ThreadPage
from retrieval.records import Resource, Thread

LISTED_IDS = 10
"""Document ids named in a source's warning; the rest are counted."""


def document_sources(records: Iterable[tuple[str, Record]]) -> dict[str, set[str]]:
    """Document id -> the sources (relative names) its records came from; a thread merged
    from pages may come from several."""
    found: dict[str, set[str]] = {}
    for rel, record in records:
        if isinstance(record, ThreadPage):
            found.setdefault(record.thread.id, set()).add(rel)
        elif isinstance(record, Thread | Resource):
            found.setdefault(record.id, set()).add(rel)
    return found


def is_damaged(rel: str, failed: set[str]) -> bool:
    """True when source ``rel`` had an error: one located at it, or inside it (a file of a
    claimed folder), among ``failed`` (:meth:`Report.files_with_errors`)."""
    return rel in failed or any(name.startswith(rel.rstrip("/") + "/") for name in failed)


def damaged_documents(sources: dict[str, set[str]], failed: set[str]) -> dict[str, str]:
    """Document id -> the first (by name) damaged source it came from, for documents that
    came from at least one damaged source."""
    damaged: dict[str, str] = {}
    for doc_id, rels in sources.items():
        bad = sorted(rel for rel in rels if is_damaged(rel, failed))
        if bad:
            damaged[doc_id] = bad[0]
    return damaged


def held_back(changed: Iterable[str], stored: set[str], moves: dict[str, str], damaged: dict[str, str]) -> set[str]:
    """Ids among ``changed`` (documents whose content differs from the stored one, or new
    ones) that must not be written: damaged ones that are stored already, or that would
    supersede a stored thread (``moves``: stored doc id -> id of the loaded doc taking its post)."""
    superseding = set(moves.values())
    return {doc_id for doc_id in changed if doc_id in damaged and (doc_id in stored or doc_id in superseding)}


def warn_held(held: set[str], damaged: dict[str, str], report: Report) -> None:
    """One warning per damaged source, naming the documents whose indexed version is kept."""
    by_source: dict[str, list[str]] = {}
    for doc_id in sorted(held):
        by_source.setdefault(damaged[doc_id], []).append(doc_id)
    for rel, ids in sorted(by_source.items()):
        named = ", ".join(ids[:LISTED_IDS]) + (f" and {len(ids) - LISTED_IDS} more" if len(ids) > LISTED_IDS else "")
        # appended past the per-file cap: a file with many errors must still say what it kept
        report.problems.append(Problem(rel, f"had errors, so its version of {len(ids)} indexed document(s) "
                                       f"was not used; the indexed version is kept: {named}", "warning"))
