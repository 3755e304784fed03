"""Metadata of shared resources: Markdown front matter or a ``<file>.meta.yaml`` sidecar."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from ingest.sources.base import Report, SourceFile
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

    @field_validator("visibility")
    @classmethod
    def _groups_named(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and (not value or not all(str(g).strip() for g in value)):
            raise ValueError('must be "public" or a non-empty list of group names')
        return value


def parse_meta(raw: Any, where: str, report: Report) -> ResourceMeta | None:
    """Validate raw metadata; on a bad field report it and return None (the file is skipped,
    since guessing a visibility could expose private text)."""
    if raw is None:
        return ResourceMeta()
    if not isinstance(raw, dict):
        report.error(where, "metadata must be a mapping of keys to values")
        return None
    try:
        return ResourceMeta.model_validate(raw)
    except ValidationError as e:
        report.error(where, describe(e))
        return None


def sidecar_meta(source: SourceFile, report: Report) -> ResourceMeta | None:
    """Metadata from ``<file>.meta.yaml`` beside ``source``, or defaults when there is none."""
    sidecar = source.path.with_name(source.path.name + SIDECAR_SUFFIX)
    if not sidecar.exists():
        return ResourceMeta()
    where = source.rel + SIDECAR_SUFFIX
    try:
        raw = yaml.safe_load(sidecar.read_text(encoding="utf-8", errors="replace"))
    except yaml.YAMLError as e:
        report.error(where, f"invalid YAML ({e})")
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
