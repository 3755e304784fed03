"""Who may read a Discourse topic, and the channel it is shown in, from its category.

The topic JSON names its category by ``category_id`` (some exports embed a ``category``
object). Read restrictions come from that object's ``read_restricted`` or from the forum's
``categories.json`` / ``site.json`` beside the topics. A topic in a restricted category is
visible only to the group ``discourse:<category slug>`` (``discourse:category-<id>`` when no
slug is known). Failing closed:

- a categories file that cannot be read makes every topic beside it an error (skipped);
- a category that a categories file does not list (an anonymous ``site.json`` leaves out the
  categories it may not see) is taken as restricted, with a warning;
- a topic known only from ``posts.json`` pages (no ``/t/{id}.json`` with its category and kind
  beside them) is skipped with an error: it could be a restricted topic or a private message.

Without any categories file and no ``category`` object, nothing says a category is
restricted, and topics are public (docs/formats.md says so loudly).
"""

from __future__ import annotations

from ingest.sources.base import Report
from ingest.sources.discourse_folder import Category, Folder, TopicInfo
from retrieval.records import PUBLIC


def visibility_of(info: TopicInfo, folder: Folder, topic_id: int, where: str,
                  report: Report) -> tuple[str, ...] | None:
    """The topic's visibility, or None (reported as an error) when it cannot be known."""
    categories = folder.categories
    if folder.broken_categories:
        report.error(where, f"the categories file {folder.broken_categories} beside it cannot be read, so which "
                     "categories are restricted is unknown; skipped")
        return None
    if not info.has_topic_view:
        report.error(where, f"only posts pages of topic {topic_id} were found, without /t/{topic_id}.json (its "
                     "title, category and kind), so who may read it is unknown; skipped")
        return None
    embedded = info.category or {}
    category_id = info.category_id if info.category_id is not None else _int(embedded.get("id"))
    known = categories.get(category_id) if categories is not None and category_id is not None else None
    group = f"discourse:{_slug(known, embedded, category_id)}"
    if embedded.get("read_restricted") not in (None, False) or _restricted(known, categories):
        return (group,)
    if categories is not None and category_id is not None and known is None and "read_restricted" not in embedded:
        report.warning(where, f"category {category_id} is not in the categories file beside it (a restricted "
                       "category, or a subcategory: /site.json lists those), so it may be restricted; visible only "
                       f"to the group {group!r}")
        return (group,)
    return PUBLIC


def channel_of(info: TopicInfo, categories: dict[int, Category] | None) -> str:
    """The category's name, else ``category-<id>``, else "" for a topic without a category."""
    embedded = info.category or {}
    category_id = info.category_id if info.category_id is not None else _int(embedded.get("id"))
    known = categories.get(category_id) if categories is not None and category_id is not None else None
    name = (known.name if known else "") or (embedded.get("name") if isinstance(embedded.get("name"), str) else "")
    return str(name).strip() or (f"category-{category_id}" if category_id is not None else "")


def _restricted(category: Category | None, categories: dict[int, Category] | None) -> bool:
    """Restricted itself, or a subcategory of a restricted parent (cycles in mangled data end)."""
    seen: set[int] = set()
    while category is not None and category.id not in seen:
        if category.restricted:
            return True
        seen.add(category.id)
        parent = category.parent_id
        category = categories.get(parent) if categories is not None and parent is not None else None
    return False


def _slug(known: Category | None, embedded: dict[str, object], category_id: int | None) -> str:
    slug = (known.slug if known else "") or embedded.get("slug")
    if isinstance(slug, str) and slug.strip():
        return slug.strip()
    return f"category-{category_id}" if category_id is not None else "restricted"


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
