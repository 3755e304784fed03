"""Stack Exchange data dump: a folder or zip holding ``Posts.xml`` and, when present,
``Users.xml``, ``Comments.xml`` and ``PostLinks.xml`` (see docs/formats.md).

The dump is streamed into a temporary SQLite stage (:mod:`stackexchange_stage`), then read back
one question at a time (:mod:`stackexchange_records`), so a site of any size loads in flat
memory. ``Tags.xml`` and the tag-wiki posts it points at (post types 4 and 5), like every post
type other than questions and answers, are not threads.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Iterator

from ingest.sources.base import Record, Report, SourceFile
from ingest.sources.stackexchange_records import People, Site, thread_records
from ingest.sources.stackexchange_site import site_from_name, vote_site
from ingest.sources.stackexchange_stage import Stage
from ingest.sources.tree import Tree, open_tree

log = logging.getLogger(__name__)

DUMP_FILES = ("Posts", "Comments", "PostLinks", "Users")
SNIFF_BYTES = 1024


def dump_files(tree: Tree) -> dict[str, str]:
    """The dump files at the root of ``tree``: "Posts" etc. -> name (any letter case)."""
    wanted = {f"{kind.lower()}.xml": kind for kind in DUMP_FILES}
    return {wanted[n.lower()]: n for n in tree.names() if n.lower() in wanted}


def looks_like_posts(tree: Tree, name: str) -> bool:
    """True when ``name`` starts like a dump's Posts.xml (a ``<posts>`` root)."""
    with tree.open(name) as stream:
        return b"<posts" in stream.read(SNIFF_BYTES)


def find_site(source: SourceFile, stage: Stage) -> Site:
    """The dump's site, from its folder or archive name, else from its links to itself."""
    host = site_from_name(source.path.name) or vote_site(stage.self_link_titles())
    return Site(key=host or source.path.name, host=host)


class StackExchangeLoader:
    """Tree loader for Stack Exchange data dumps (folder or zip)."""

    name = "stackexchange"
    claims_trees = True
    streams = True

    def matches(self, source: SourceFile) -> bool:
        """See :class:`ingest.sources.base.SourceLoader`: a Posts.xml with a ``<posts>`` root."""
        try:
            if source.path.is_dir() and not any(p.name.lower() == "posts.xml" for p in source.path.iterdir()):
                return False  # cheap: folders met while walking a corpus are not listed recursively
            with open_tree(source.path, source.rel) as tree:
                posts = dump_files(tree).get("Posts")
                return posts is not None and looks_like_posts(tree, posts)
        except Exception:  # noqa: BLE001 - detection must never raise
            return False

    def load(self, source: SourceFile, report: Report) -> Iterator[Record]:
        """See :class:`ingest.sources.base.SourceLoader`."""
        try:
            with open_tree(source.path, source.rel, report.warning) as tree:
                yield from load_dump(source, tree, report)
        except (OSError, zipfile.BadZipFile, NotADirectoryError) as e:
            report.error(source.rel, f"not a readable folder or zip archive ({e}); skipped")


def load_dump(source: SourceFile, tree: Tree, report: Report) -> Iterator[Record]:
    """The records of the dump in ``tree`` (``source`` names it in problems and may name its site)."""
    files = dump_files(tree)
    if "Posts" not in files:
        report.error(source.rel, "no Posts.xml: not a Stack Exchange dump; skipped")
        return
    with Stage() as stage:
        errors_before = len(report.errors)
        stage.fill(tree, files, report)
        site = find_site(source, stage)
        if not site.host and len(report.errors) > errors_before:
            # ids would fall back to the folder's name: from a damaged copy of a dump whose site
            # its complete posts named, the same questions would come back as new threads
            report.error(source.rel, "the site is unknown and the dump is damaged (above): nothing of it is "
                         "ingested, so its threads cannot come back under other ids; fix the file, or name "
                         "the folder or archive after the site (e.g. cardano.stackexchange.com)")
            return
        _check(source, files, stage, site, report)
        people = People(stage, site)
        empty = True
        for question in stage.questions():
            where = f"{source.rel}:{files['Posts']}:row Id={question['id']}"
            empty = False
            yield from thread_records(question, stage, site, people, where, report)
        if empty:
            report.warning(f"{source.rel}:{files['Posts']}", "no questions (PostTypeId 1): nothing to ingest")


def _check(source: SourceFile, files: dict[str, str], stage: Stage, site: Site, report: Report) -> None:
    if not site.host:
        report.warning(source.rel, "the site is unknown (name the folder or archive after it, e.g. "
                       "cardano.stackexchange.com): threads have no url")
    if "Users" not in files or not stage.has_users():
        report.warning(source.rel, "no users in Users.xml: authors are named userID as the site shows them")
    for kind, (count, first) in stage.orphans().items():
        report.warning(f"{source.rel}:{files['Posts']}", f"{count} {kind} left out: their post is not in the "
                       f"dump (first ids: {', '.join(map(str, first))})")
