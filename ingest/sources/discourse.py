"""Discourse topics as the API returns them: ``/t/{id}.json`` and the paged
``/t/{id}/posts.json`` (see docs/formats.md, "Discourse").

Each file yields one :class:`ThreadPage` of its topic; pages of the same topic (any files, any
order) merge into one thread, posts deduplicated by id (``discourse:{topic}:{post_number}``,
so pages agree without seeing each other). Title, category, tags, accepted answer and
visibility come from the topic's files in the same folder (:mod:`discourse_folder`), so every
page of a topic agrees on them. ``categories.json`` / ``site.json`` beside the topics are read
for category names and read restrictions; they yield nothing themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ingest.sources.base import Account, Record, Report, SourceFile, ThreadPage, head, read_text
from ingest.sources.discourse_folder import (
    CATEGORY_FILES,
    SNIFF_BYTES,
    Folder,
    TopicInfo,
    add_topic_file,
    parse_categories,
    read_folder,
    sniff,
    topic_id_of,
)
from ingest.sources.discourse_posts import PostError, to_post
from ingest.sources.discourse_visibility import channel_of, visibility_of
from retrieval.input_errors import json_error_text
from retrieval.records import Post, Thread


class DiscourseLoader:
    """Loader for Discourse topic JSON (a top-level ``post_stream`` object) and the forum's
    ``categories.json`` / ``site.json``."""

    name = "discourse"
    claims_trees = False
    streams = False

    def matches(self, source: SourceFile) -> bool:
        """See :class:`ingest.sources.base.SourceLoader`."""
        kind = sniff(head(source.path))
        if not kind and source.path.suffix.lower() == ".json":
            kind = sniff(head(source.path, SNIFF_BYTES))  # keys in another order (a re-saved file)
        return kind == "topic" or (kind == "categories" and source.path.name in CATEGORY_FILES)

    def load(self, source: SourceFile, report: Report) -> Iterator[Record]:
        """See :class:`ingest.sources.base.SourceLoader`."""
        data = _read_json(source, report)
        if data is None:
            return
        if source.path.name in CATEGORY_FILES and "post_stream" not in data:
            if parse_categories(data) is None:
                report.error(source.rel, "no category list (category_list.categories or categories); skipped")
            return
        if not isinstance(data.get("post_stream"), dict):
            report.error(source.rel, "not a Discourse topic: no post_stream object at the top level; skipped")
            return
        topic_id = topic_id_of(data)
        if topic_id is None:
            report.error(source.rel, "no topic id (neither a top-level id nor a topic_id shared by the posts); skipped")
            return
        yield from _topic_page(data, topic_id, source, read_folder(source.path), report)


def _read_json(source: SourceFile, report: Report) -> dict[str, Any] | None:
    try:
        data = json.loads(read_text(source, report))
    except json.JSONDecodeError as e:
        report.error(f"{source.rel}:{e.lineno}", f"invalid JSON ({json_error_text(e, with_line=False)}); skipped")
        return None
    except (ValueError, RecursionError) as e:
        report.error(source.rel, f"invalid JSON ({e}); skipped")
        return None
    if not isinstance(data, dict):
        report.error(source.rel, f"expected a JSON object at the top level, found {type(data).__name__}; skipped")
        return None
    return data


def _topic_page(data: dict[str, Any], topic_id: int, source: SourceFile, folder: Folder,
                report: Report) -> Iterator[Record]:
    info = folder.topics.get(topic_id)
    if info is None:  # the folder summary could not read this file: use the file alone
        info = TopicInfo()
        add_topic_file(info, data, source.path.name)
    where = f"{source.rel}:topic {topic_id}"
    if info.archetype == "private_message" or info.deleted:
        report.warning(where, f"a {'private message' if not info.deleted else 'deleted topic'}; left out")
        return
    visibility = visibility_of(info, folder, topic_id, where, report)
    if visibility is None:
        return
    posts, accounts = _posts(data["post_stream"].get("posts"), topic_id, info, source, report)
    if info.stream is not None and info.stream_file == source.path.name:
        _warn_missing(info, topic_id, where, report)
    if not posts:
        return
    yield from accounts.values()
    yield ThreadPage(Thread(
        id=f"discourse:{topic_id}", source="discourse", channel=channel_of(info, folder.categories),
        title=info.title or f"Topic {topic_id}", posts=tuple(posts), tags=info.tags, visibility=visibility,
        url=f"https://{info.host}/t/{info.slug or 'topic'}/{topic_id}" if info.host else "", origin=where,
    ))


def _posts(raw_posts: Any, topic_id: int, info: TopicInfo, source: SourceFile,
           report: Report) -> tuple[list[Post], dict[str, Account]]:
    posts: list[Post] = []
    accounts: dict[str, Account] = {}
    if not isinstance(raw_posts, list):
        report.error(f"{source.rel}:topic {topic_id}", "post_stream.posts must be a list; no posts read")
        return posts, accounts
    for index, raw in enumerate(raw_posts):
        try:
            made = to_post(raw, topic_id, info.accepted_post_number)
        except PostError as e:
            label = raw.get("id", f"#{index}") if isinstance(raw, dict) else f"#{index}"
            report.error(f"{source.rel}:post {label}", f"{e}; post skipped")
            continue
        if made is not None:
            post, account = made
            posts.append(post)
            accounts.setdefault(account.member_id, account)
    return posts, accounts


def _warn_missing(info: TopicInfo, topic_id: int, where: str, report: Report) -> None:
    missing = [i for i in info.stream or [] if i not in info.post_ids]
    if missing:
        report.warning(where, f"topic {topic_id} {info.title!r}: its post_stream lists {len(info.stream or [])} posts "
                       f"but {len(missing)} of them are in none of the files beside it; ingested what is there")

