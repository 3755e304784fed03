"""Metadata of shared resources: Markdown front matter or a ``<file>.meta.yaml`` sidecar."""

from __future__ import annotations

import difflib
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from ingest.sources.base import Report, SourceFile
from ingest.sources.front_matter import load_yaml
from ingest.sources.jsonl import describe
from retrieval.records import PUBLIC, Resource

SIDECAR_SUFFIX = ".meta.yaml"


class ResourceMeta(BaseModel):
    """Optional metadata of a resource; unknown keys are ignored."""

    title: str | None = None
    author: str | list[str] | None = None
    tags: list[str] = Field(default_factory=list)
    visibility: Literal["public"] | list[str] = "public"
    url: str = ""
    created_at: datetime | date | None = None

    @field_validator("visibility", mode="before")
    @classmethod
    def _groups_named(cls, value: Any) -> Any:
        """``public`` (any case), a list of groups, or one comma-separated string of them;
        empty, blank or mixed with ``public`` is an error (never read as public)."""
        if isinstance(value, str):
            value = "public" if value.strip().lower() == "public" else [g.strip() for g in value.split(",")]
        if isinstance(value, list):
            groups = [str(g).strip() for g in value if g is not None]
            if not groups or len(groups) != len(value) or not all(groups) or "public" in (g.lower() for g in groups):
                raise ValueError('must be "public" or a non-empty list of group names')
            return groups
        return value


SUSPECT_KEYS = {"group", "groups", "private", "access", "audience", "visible", "visible_to", "permissions", "acl"}
"""Keys that look like an attempt at ``visibility``: refused rather than ignored."""


def misnamed_key(raw: dict[Any, Any]) -> str | None:
    """A key that looks meant for a known field but is not spelled as one (``Visibility``,
    ``visiblity``, ``groups``), since ignoring it could publish a private file."""
    fields = set(ResourceMeta.model_fields)
    for key in map(str, raw):
        if key in fields:
            continue
        folded = key.strip().lower()
        if folded in fields or folded in SUSPECT_KEYS or difflib.get_close_matches(folded, ["visibility"], cutoff=0.75):
            return key
    return None


def parse_meta(raw: Any, where: str, report: Report) -> ResourceMeta | None:
    """Validate raw metadata; on a bad field report it and return None (the file is skipped,
    since guessing a visibility could expose private text)."""
    if raw is None:
        return ResourceMeta()
    if not isinstance(raw, dict):
        report.error(where, "metadata must be a mapping of keys to values")
        return None
    suspect = misnamed_key(raw)
    if suspect is not None:
        report.error(where, f"unknown key {suspect!r} (did you mean 'visibility'?); file skipped")
        return None
    try:
        return ResourceMeta.model_validate(raw)
    except ValidationError as e:
        report.error(where, describe(e))
        return None


def has_sidecar(source: SourceFile) -> bool:
    """True when ``<file>.meta.yaml`` lies beside ``source``."""
    return source.path.with_name(source.path.name + SIDECAR_SUFFIX).exists()


def sidecar_meta(source: SourceFile, report: Report) -> ResourceMeta | None:
    """Metadata from ``<file>.meta.yaml`` beside ``source``, or defaults when there is none.
    An empty or unreadable sidecar is an error (None): it may have been meant to restrict."""
    sidecar = source.path.with_name(source.path.name + SIDECAR_SUFFIX)
    if not sidecar.exists():
        return ResourceMeta()
    where = source.rel + SIDECAR_SUFFIX
    try:
        raw = load_yaml(sidecar.read_text(encoding="utf-8", errors="replace"))
    except yaml.YAMLError as e:
        report.error(where, f"invalid YAML ({' '.join(str(e).split())}); file skipped")
        return None
    if raw is None:
        report.error(where, "empty metadata file; file skipped")
        return None
    return parse_meta(raw, where, report)


def make_resource(
    source: SourceFile, text: str, meta: ResourceMeta, markup: str, title: str | None = None
) -> Resource:
    """Build a Resource with its id = the file's path relative to the ingested folder."""
    authors = (meta.author,) if isinstance(meta.author, str) else tuple(meta.author or ())
    created = meta.created_at
    if isinstance(created, date) and not isinstance(created, datetime):
        created = datetime(created.year, created.month, created.day)
    visibility = PUBLIC if meta.visibility == "public" else tuple(sorted(set(meta.visibility)))
    return Resource(
        id=source.rel, source="files", title=meta.title or title or Path(source.rel).stem,
        text=text, url=meta.url, authors=authors, created_at=created, tags=tuple(meta.tags),
        visibility=visibility, markup=markup, origin=source.rel,
    )
