"""Content-identical resources from different paths (``corpus`` ingested, then
``corpus/resources``): the first one indexed stays, the others are warned about and not
indexed twice. Same text (NFC-normalised, whitespace-collapsed) and same visibility make a
duplicate; a copy shared with other groups is a different document."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterable, Sequence

from retrieval.records import Resource


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
