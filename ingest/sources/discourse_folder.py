"""What the files beside a Discourse topic file say about it: the forum's categories
(``categories.json`` or ``site.json``) and every page of each topic.

A topic's pages may lie in several files (``/t/{id}.json`` holds the first posts, title,
category and the full ``post_stream.stream``; ``/t/{id}/posts.json`` pages hold only posts).
So that every page of a topic gets the same title, category and visibility, and so that posts
missing from all pages can be named, the loader reads the whole folder once (a summary per
topic, cached while the folder is unchanged).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.sources.folder_cache import Files, FolderCache

CATEGORY_FILES = ("categories.json", "site.json")
_POST_STREAM = re.compile(rb'(?<!\\)"post_stream"\s*:\s*\{')
_CATEGORIES = re.compile(rb'(?<!\\)"(category_list|categories)"\s*:')
_AVATAR_HOST = re.compile(r"^(?:https?://[^/]+)?/user_avatar/([a-z0-9.-]+\.[a-z]{2,})/", re.IGNORECASE)
SNIFF_BYTES = 1 << 20
MAX_SUMMARY_BYTES = 50 * 1024 * 1024  # no real topic file is larger; such a file is read alone


@dataclass(frozen=True)
class Category:
    """A forum category; ``restricted`` is its ``read_restricted`` flag (None = not given)."""

    id: int
    name: str
    slug: str
    restricted: bool | None
    parent_id: int | None = None


@dataclass
class TopicInfo:
    """What the folder's files say about one topic (the first file by name wins a field)."""

    title: str = ""
    slug: str = ""
    host: str = ""
    category_id: int | None = None
    category: dict[str, Any] | None = None
    tags: tuple[str, ...] = ()
    archetype: str = ""
    deleted: bool = False
    accepted_post_number: int | None = None
    has_topic_view: bool = False
    stream: list[int] | None = None
    stream_file: str = ""
    post_ids: set[int] = field(default_factory=set)


@dataclass
class Folder:
    """A folder of Discourse files: its categories (None without a categories file), its
    topics, and the name of a categories file that could not be read (then nobody can tell
    which categories are restricted)."""

    categories: dict[int, Category] | None
    topics: dict[int, TopicInfo]
    broken_categories: str = ""


def sniff(head: bytes) -> str:
    """"topic", "categories" or "" for the start of a file."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(b"{"):
        return ""
    if _POST_STREAM.search(text):
        return "topic"
    return "categories" if _CATEGORIES.search(text) else ""


def read_folder(path: Path) -> Folder:
    """The summary of the folder holding ``path`` (cached while the folder is unchanged)."""
    return _CACHE.get(path)


def _read_folder(folder: Path, files: Files) -> Folder:
    categories: dict[int, Category] | None = None
    topics: dict[int, TopicInfo] = {}
    broken = ""
    for name, size in files:
        data = _load(folder / name) if size <= MAX_SUMMARY_BYTES else None
        if name in CATEGORY_FILES and not (isinstance(data, dict) and "post_stream" in data):
            found = parse_categories(data) if isinstance(data, dict) else None
            if found is None:
                broken = broken or name
            else:
                categories = merge_categories(categories or {}, found)
        elif not isinstance(data, dict):
            continue
        elif isinstance(data.get("post_stream"), dict):
            topic_id = topic_id_of(data)
            if topic_id is not None:
                add_topic_file(topics.setdefault(topic_id, TopicInfo()), data, name)
    return Folder(categories, topics, broken)


_CACHE = FolderCache(_read_folder)


def _load(path: Path) -> Any:
    try:
        with path.open("rb") as f:
            if not sniff(f.read(SNIFF_BYTES)):
                return None
        return json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, ValueError, RecursionError):
        return None


def parse_categories(data: dict[str, Any]) -> dict[int, Category] | None:
    """Categories of a ``/categories.json`` (``category_list.categories``, subcategories in
    ``subcategory_list``) or ``/site.json`` (``categories``); None when neither is there."""
    listed = data.get("category_list", {}).get("categories") if isinstance(data.get("category_list"), dict) else None
    if listed is None:
        listed = data.get("categories")
    if not isinstance(listed, list):
        return None
    found: dict[int, Category] = {}
    stack = list(listed)
    while stack:
        raw = stack.pop()
        if isinstance(raw, dict) and _int(raw.get("id")) is not None:
            found = merge_categories(found, {_int(raw["id"]) or 0: _category(raw)})
            children = raw.get("subcategory_list")
            stack.extend(children if isinstance(children, list) else [])
    return found


def merge_categories(known: dict[int, Category], more: dict[int, Category]) -> dict[int, Category]:
    """``known`` plus ``more``; a category listed twice is restricted if either says so."""
    merged = dict(known)
    for category_id, category in more.items():
        before = merged.get(category_id)
        if before is not None and (before.restricted or category.restricted):
            category = Category(category.id, category.name or before.name, category.slug or before.slug, True,
                                category.parent_id)
        merged[category_id] = category
    return merged


def _category(raw: dict[str, Any]) -> Category:
    flag = raw.get("read_restricted")
    return Category(
        id=_int(raw.get("id")) or 0, name=_str(raw.get("name")), slug=_str(raw.get("slug")),
        restricted=None if flag is None else flag is not False, parent_id=_int(raw.get("parent_category_id")),
    )


def topic_id_of(data: dict[str, Any]) -> int | None:
    """The topic's id: the top-level ``id``, else the ``topic_id`` its posts share."""
    found = _int(data.get("id"))
    if found is not None:
        return found
    posts = data["post_stream"].get("posts") if isinstance(data.get("post_stream"), dict) else None
    ids = {_int(p.get("topic_id")) for p in posts if isinstance(p, dict)} if isinstance(posts, list) else set()
    return ids.pop() if len(ids) == 1 else None


def add_topic_file(info: TopicInfo, data: dict[str, Any], name: str) -> None:
    """Fold one file of a topic into its summary (fields already known are kept)."""
    stream = data["post_stream"]
    posts = stream.get("posts") if isinstance(stream.get("posts"), list) else []
    info.post_ids.update(i for i in (_int(p.get("id")) for p in posts if isinstance(p, dict)) if i is not None)
    info.host = info.host or host_of(posts)
    if isinstance(stream.get("stream"), list) and info.stream is None:
        info.stream = [i for i in (_int(v) for v in stream["stream"]) if i is not None]
        info.stream_file = name
    if "title" not in data and "fancy_title" not in data:
        return
    info.has_topic_view = True
    info.title = info.title or _str(data.get("title")) or _str(data.get("fancy_title"))
    info.slug = info.slug or _str(data.get("slug"))
    info.category_id = info.category_id if info.category_id is not None else _int(data.get("category_id"))
    if info.category is None and isinstance(data.get("category"), dict):
        info.category = data["category"]
    info.tags = info.tags or tags_of(data.get("tags"))
    info.archetype = info.archetype or _str(data.get("archetype"))
    info.deleted = info.deleted or bool(data.get("deleted_at"))
    accepted = data.get("accepted_answer")
    if info.accepted_post_number is None and isinstance(accepted, dict):
        info.accepted_post_number = _int(accepted.get("post_number"))


def host_of(posts: list[Any]) -> str:
    """The forum's host name, from an uploaded avatar's template (Discourse writes them as
    ``/user_avatar/<host>/<username>/{size}/...``); "" when no post has one."""
    for post in posts:
        template = post.get("avatar_template") if isinstance(post, dict) else None
        found = _AVATAR_HOST.match(template) if isinstance(template, str) else None
        if found:
            return found.group(1)
    return ""


def tags_of(raw: Any) -> tuple[str, ...]:
    """Tags as strings (older versions) or objects with ``name`` (newer ones)."""
    if not isinstance(raw, list):
        return ()
    names = (t if isinstance(t, str) else t.get("name") if isinstance(t, dict) else None for t in raw)
    return tuple(dict.fromkeys(n.strip() for n in names if isinstance(n, str) and n.strip()))


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
