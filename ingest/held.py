"""The rule that keeps a damaged export from replacing what is indexed.

A document assembled (even in part) from a source that had an error in this run may be
*added* when its id is new, but it never *replaces* a stored document: neither the stored
version of the same id, nor a stored thread it would supersede by carrying one of its posts
(:func:`ingest.pipeline.make_plan`). The stored version stays served, and one warning per
damaged source names it and the documents kept. A truncated ``Posts.xml``, a Slack day file
cut mid-message or an mbox with a broken message all end up here, whatever their loader:
loaders only report errors, this module decides what those errors protect.

Members follow the same rule (:func:`held_members`): a member whose record comes only from
damaged sources (a members file, accounts nobody claims; for an author nobody listed, the
documents naming them) never replaces the stored member, and a new one is written only when a
document written in this run names them as an author (its posts must not point at no one).

A source is what a loader was offered: a file, or a folder or archive claimed whole by a tree
loader. Its errors are the problems located at its name, at ``name:...`` or inside it
(``name/...``), as :meth:`ingest.sources.base.Report.files_with_errors` lists them.
"""

from __future__ import annotations

from collections.abc import Iterable

from ingest.sources.base import Account, Problem, Record, Report, ThreadPage
from retrieval.records import Document, Member, Resource, Thread

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
    for rel, count, named in per_source(held, damaged):
        # appended past the per-file cap: a file with many errors must still say what it kept
        report.problems.append(Problem(rel, f"had errors, so its version of {count} indexed document(s) "
                                       f"was not used; the indexed version is kept: {named}", "warning"))


def per_source(held: set[str], damaged: dict[str, str]) -> list[tuple[str, int, str]]:
    """(damaged source, how many of ``held`` it gave, the first :data:`LISTED_IDS` of them
    named) per source, by source name; ``damaged``: id -> its source."""
    by_source: dict[str, list[str]] = {}
    for held_id in sorted(held):
        by_source.setdefault(damaged[held_id], []).append(held_id)
    return [(rel, len(ids), ", ".join(ids[:LISTED_IDS])
             + (f" and {len(ids) - LISTED_IDS} more" if len(ids) > LISTED_IDS else ""))
            for rel, ids in sorted(by_source.items())]


def member_sources(
    records: Iterable[tuple[str, Record]], documents: Iterable[Document], sources: dict[str, set[str]],
) -> dict[str, set[str]]:
    """Member id -> the sources (relative names) the member's record was derived from: their
    own record (a members file) or an account of theirs nobody claims; for a member with
    neither (an author nobody listed), the sources of ``documents`` naming them as author
    (``sources``: :func:`document_sources`; authors after accounts are resolved)."""
    found: dict[str, set[str]] = {}
    for rel, record in records:
        if isinstance(record, Member | Account):
            found.setdefault(record.id if isinstance(record, Member) else record.member_id, set()).add(rel)
    named: dict[str, set[str]] = {}
    for doc in documents:
        for author in authors_of(doc):
            named.setdefault(author, set()).update(sources.get(doc.id, ()))
    return named | found


def authors_of(doc: Document) -> set[str]:
    """The member ids a document names as authors: its posts' authors, or a resource's."""
    return {p.author for p in doc.posts} if isinstance(doc, Thread) else set(doc.authors)


def damaged_members(sources: dict[str, set[str]], failed: set[str]) -> dict[str, str]:
    """Member id -> the first (by name) damaged source, for members derived only from damaged
    sources (:func:`member_sources`)."""
    return {member_id: min(rels) for member_id, rels in sources.items()
            if rels and all(is_damaged(rel, failed) for rel in rels)}


def held_members(
    changed: Iterable[Member], stored: set[str], written: Iterable[Document], damaged: dict[str, str], report: Report,
) -> set[str]:
    """Ids among ``changed`` (members new or differing from the stored ones) that must not be
    written: derived only from damaged sources and either stored already, or named as an author
    by no document in ``written``. One warning per damaged source names them."""
    needed = {author for doc in written for author in authors_of(doc)}
    held = {m.id for m in changed if m.id in damaged and (m.id in stored or m.id not in needed)}
    for rel, count, named in per_source(held, damaged):
        report.problems.append(Problem(rel, f"had errors, so {count} member record(s) only it gave were not "
                                       f"written (the stored ones are kept): {named}", "warning"))
    return held
