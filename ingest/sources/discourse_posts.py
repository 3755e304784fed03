"""One post of a Discourse topic JSON as a Townsquare post.

Needed: ``post_number``, ``username``, ``created_at`` and ``cooked`` (or ``raw``); anything else
is optional, since older Discourse versions lack many fields. Left out (None, no problem):
moderator actions, small actions and whispers (``post_type`` 2, 3, 4), deleted and hidden
posts, and posts with no text.
"""

from __future__ import annotations

from typing import Any

from ingest.sources.base import Account
from ingest.sources.discourse_html import cooked_to_text, quoted_ranges
from retrieval.records import Post, parse_iso

REGULAR = 1
LIKE = 2  # the post action type id of a like in actions_summary


class PostError(ValueError):
    """A post that cannot be read; the text names the bad field."""


def to_post(raw: Any, topic_id: int, accepted_number: int | None) -> tuple[Post, Account] | None:
    """The post and its author's account, or None when the post is left out.

    Raises:
        PostError: a needed field is missing or has the wrong type.
    """
    if not isinstance(raw, dict):
        raise PostError(f"a post must be an object, not {type(raw).__name__}")
    if raw.get("post_type", REGULAR) != REGULAR or raw.get("deleted_at") or raw.get("hidden") is True:
        return None
    if raw.get("user_deleted") is True:
        return None
    number = _number(raw.get("post_number"), "post_number")
    username = raw.get("username")
    if not isinstance(username, str) or not username.strip():
        raise PostError("username is missing")
    text = _text(raw)
    if not text:
        return None
    reply = raw.get("reply_to_post_number")
    reply_number = _number(reply, "reply_to_post_number") if reply is not None else None
    thread_id = f"discourse:{topic_id}"
    post = Post(
        id=f"{thread_id}:{number}", thread_id=thread_id, author=_account(raw).member_id,
        created_at=_created(raw.get("created_at")), text=text, unembedded=quoted_ranges(text),
        reply_to=f"{thread_id}:{reply_number}" if reply_number and reply_number != number else None,
        accepted=number != 1 and (raw.get("accepted_answer") is True or number == accepted_number),
        score=likes(raw),
    )
    return post, _account(raw)


def likes(raw: dict[str, Any]) -> int:
    """Likes: the ``actions_summary`` entry with id 2, else ``like_count``, else 0."""
    summary = raw.get("actions_summary")
    if isinstance(summary, list):
        for action in summary:
            if isinstance(action, dict) and action.get("id") == LIKE and _count(action.get("count")):
                return _count(action.get("count"))
    return _count(raw.get("like_count"))


def _account(raw: dict[str, Any]) -> Account:
    username = str(raw["username"]).strip()
    name = raw.get("name") or raw.get("display_username")
    return Account(source="discourse", handles=(username,), name=name.strip() if isinstance(name, str) and
                   name.strip() else username)


def _text(raw: dict[str, Any]) -> str:
    cooked = raw.get("cooked")
    if isinstance(cooked, str):
        return cooked_to_text(cooked)
    if isinstance(raw.get("raw"), str):
        return str(raw["raw"]).strip()
    raise PostError("cooked is missing (and no raw text either)")


def _created(value: Any) -> Any:
    if not isinstance(value, str):
        raise PostError(f"created_at must be an ISO 8601 string, not {value!r}")
    try:
        return parse_iso(value)
    except ValueError as e:
        raise PostError(f"created_at: {e}") from None


def _number(value: Any, field: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise PostError(f"{field} must be a positive integer, not {value!r}")


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
