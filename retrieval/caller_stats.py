"""Index statistics as one caller may see them: counts over visible documents only.

The manifest's counts cover everything, private groups included; served to a caller they
would tell outsiders how much private content exists, so every count comes from the
catalog's visibility rule (:meth:`retrieval.storage.Catalog.counts` with groups). The index
size and the last ingest's report (file names, per-kind counts, problems) cover all content,
so they are kept for a caller trusted with the whole index (a facilitator) whose groups also
see every document in it; a facilitator of some groups only, like everyone else, gets None
and an empty report (the report names files of every group, private channels included).
"""

from __future__ import annotations

from typing import Any

from retrieval.index import Snapshot, snapshot_stats


def caller_stats(snapshot: Snapshot, groups: tuple[str, ...], whole_index: bool) -> dict[str, Any]:
    """:func:`retrieval.index.snapshot_stats` with counts for ``groups``; without the index
    size and the last ingest's report unless ``whole_index`` and ``groups`` see everything."""
    info = snapshot_stats(snapshot)
    info["counts"] = snapshot.catalog.counts(groups)
    if not (whole_index and info["counts"] == snapshot.catalog.counts(None)):
        info["size_bytes"] = None
        info["last_ingest"] = {}
    return info
