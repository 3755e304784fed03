"""Content-identical resources from different paths (``corpus`` ingested, then
``corpus/resources``): the first one indexed stays, the others are warned about and not
indexed twice. Same text (NFC-normalised, whitespace-collapsed) and same visibility make a
duplicate; a copy shared with other groups is a different document."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterable, Sequence

from ingest.sources.base import Report
from ingest.validate import Loaded
from retrieval.records import Resource
from retrieval.storage import Catalog


def resource_key(text: str, visibility: Sequence[str]) -> str:
    """A digest of what a reader of the resource gets: its text and who may read it."""
    normal = " ".join(unicodedata.normalize("NFC", text).split())
    payload = json.dumps([normal, sorted(visibility)])
    return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()


def find_duplicates(loaded: Iterable[Resource], stored: dict[str, str]) -> dict[str, str]:
    """Loaded resources that repeat an earlier one: duplicate id -> id of the one kept.

    Args:
        loaded: this run's resources, in load order (the first of equal ones is kept).
        stored: id -> :func:`resource_key` of every indexed resource. An id loaded again in
            this run is judged by its new content, not its stored one.
    """
    resources = list(loaded)
    reloaded = {r.id for r in resources}
    owner = {key: doc_id for doc_id, key in stored.items() if doc_id not in reloaded}
    duplicates: dict[str, str] = {}
    for resource in resources:
        key = resource_key(resource.text, resource.visibility)
        kept = owner.setdefault(key, resource.id)
        if kept != resource.id:
            duplicates[resource.id] = kept
    return duplicates


def drop_duplicates(loaded: Loaded, catalog: Catalog | None, report: Report) -> dict[str, str]:
    """Take resources that repeat an indexed or earlier one out of ``loaded`` (a warning
    each); returns duplicate id -> the id kept. Only indexed resources some loaded resource
    could equal are read: those visible with the loaded resources' groups."""
    stored: dict[str, str] = {}
    if catalog is not None and loaded.resources:
        groups = tuple(sorted({g for r in loaded.resources for g in r.visibility}))
        stored = {d.id: resource_key(d.body or "", d.groups) for d in catalog.list_documents("resource", groups)}
    duplicate_of = find_duplicates(loaded.resources, stored)
    for resource in loaded.resources:
        if resource.id in duplicate_of:
            report.warning(resource.origin or resource.id,
                           f"same content as {duplicate_of[resource.id]!r}; not indexed twice")
    loaded.resources = [r for r in loaded.resources if r.id not in duplicate_of]
    return duplicate_of
