"""Slack workspace export: the folder, or the zip, that Slack's "Export data" produces.

Layout: ``users.json``, ``channels.json`` (and ``groups.json``, ``mpims.json``, ``dms.json`` in
exports that include private conversations), then one folder per conversation holding one JSON
array of messages per day (``general/2024-05-01.json``). Workspace files are read first (see
:mod:`ingest.sources.slack_workspace`), then each conversation's day files one at a time, oldest
first (:mod:`ingest.sources.slack_threads`). Problems are located as
``<export>:<channel>/<day>.json[:<message ts>]``.
"""

from __future__ import annotations

import logging
import re
import zipfile
import zlib
from collections.abc import Iterator
from datetime import timedelta
from itertools import groupby

from ingest.sources.base import Record, Report, SourceFile
from ingest.sources.slack_threads import DEFAULT_GAP, Authors, ChannelReader
from ingest.sources.slack_workspace import LISTS, Workspace, find_domain, read_channels, read_users
from ingest.sources.tree import Tree, open_tree, tree_names

log = logging.getLogger(__name__)

DAY_FILE = re.compile(r"^([^/]+)/(\d{4}-\d{2}-\d{2})\.json$")
DAY_GLOB = "*/[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9].json"
DOMAIN_SCAN_FILES = 50
DOMAIN_SCAN_BYTES = 256 * 1024


class SlackLoader:
    """Tree loader for Slack workspace exports (folder or zip)."""

    name = "slack"
    claims_trees = True
    streams = True

    def __init__(self, gap: timedelta = DEFAULT_GAP) -> None:
        self.gap = gap

    def matches(self, source: SourceFile) -> bool:
        """A tree with a channel list at its root and users.json or a day file. A folder is
        judged by its top level and one glob, without walking all of it."""
        path = source.path
        if path.is_dir():
            try:
                top = {child.name for child in path.iterdir() if child.is_file()}
                return bool(top & set(LISTS)) and ("users.json" in top or next(path.glob(DAY_GLOB), None) is not None)
            except OSError:
                return False
        names = tree_names(path)
        if not any(name in LISTS for name in names):
            return False
        return "users.json" in names or any(DAY_FILE.match(name) for name in names)

    def load(self, source: SourceFile, report: Report) -> Iterator[Record]:
        """See :class:`ingest.sources.base.SourceLoader`."""
        try:
            with open_tree(source.path, source.rel, report.warning) as tree:
                yield from self._load(tree, report, source.max_bytes)
        except (zipfile.BadZipFile, NotADirectoryError, OSError) as e:
            report.error(source.rel, f"not a readable Slack export ({type(e).__name__}: {e}); skipped")

    def _load(self, tree: Tree, report: Report, max_bytes: int) -> Iterator[Record]:
        present = tree.names()
        root = set(present)
        if not root & {*LISTS, "users.json"}:
            report.error(tree.label, "not a Slack export: no channels.json, groups.json, mpims.json, dms.json "
                                     "or users.json at its top; skipped")
            return
        workspace = Workspace(read_users(tree, root, report), read_channels(tree, root, report, max_bytes))
        days = [(m.group(1), name) for name in present if (m := DAY_FILE.match(name))]
        workspace.domain = _domain(tree, [name for _, name in days])
        if not days:
            report.warning(tree.label, "a Slack export with no messages")
        names, authors = workspace.names(), Authors(workspace.users)
        for folder, group in groupby(days, key=lambda item: item[0]):
            channel = workspace.channels.get(folder)
            if channel is None:
                report.error(f"{tree.label}:{folder}/", "not listed in channels.json, groups.json, mpims.json or "
                                                        "dms.json: visibility unknown, channel skipped")
                continue
            reader = ChannelReader(channel, names, authors, workspace.domain, self.gap)
            for _, name in group:
                yield from reader.read_day(tree, name, report, max_bytes)


def _domain(tree: Tree, day_files: list[str]) -> str:
    """The workspace domain from file and archive links in the first day files, or ""."""
    for name in day_files[:DOMAIN_SCAN_FILES]:
        try:
            with tree.open(name) as f:
                found = find_domain(f.read(DOMAIN_SCAN_BYTES))
        except (OSError, ValueError, RuntimeError, EOFError, zipfile.BadZipFile, zlib.error):
            continue
        if found:
            return found
    return ""
