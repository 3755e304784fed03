"""Index statistics as one caller may see them: counts over visible documents only.

The manifest's counts cover everything, private groups included; served to a caller they
would tell outsiders how much private content exists, so every count comes from the
catalog's visibility rule (:meth:`retrieval.storage.Catalog.counts` with groups). The index
size and the last ingest's report (file names, per-kind counts, problems) cover all content,
so they are kept for a caller trusted with the whole index (a facilitator) whose groups also
see every document in it; a facilitator of some groups only, like everyone else, gets None
for the size and only the last ingest's time (the report names files of every group, private
channels included, and the size grows with private content).
"""

from __future__ import annotations

from typing import Any

from retrieval.index import Snapshot, snapshot_stats


def caller_stats(snapshot: Snapshot, groups: tuple[str, ...], whole_index: bool) -> dict[str, Any]:
    """:func:`retrieval.index.snapshot_stats` with counts for ``groups``. ``last_ingest``
    always holds ``finished_at`` (when the served snapshot was committed, ISO 8601 UTC); the
    rest of the report and the index size only when ``whole_index`` and ``groups`` see
    everything (otherwise ``size_bytes`` is None)."""
    info = snapshot_stats(snapshot)
    info["counts"] = snapshot.catalog.counts(groups)
    finished = {"finished_at": info["created_at"]}
    if whole_index and info["counts"] == snapshot.catalog.counts(None):
        info["last_ingest"] = {**info["last_ingest"], **finished}
    else:
        info["size_bytes"] = None
        info["last_ingest"] = finished
    return info
