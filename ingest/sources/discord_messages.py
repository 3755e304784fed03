"""One DiscordChatExporter message turned into what Townsquare keeps of it.

DiscordChatExporter (DCE) writes each message as an object with ``id``, ``type``,
``timestamp``, ``content``, ``author`` {id, name, discriminator, nickname, isBot},
``attachments``, ``embeds``, ``reactions`` [{emoji {name}, count}], ``mentions`` and, for
replies, ``reference`` {messageId, channelId, guildId}; current versions add ``stickers`` and
``inlineEmojis``. Old versions left some of these out, and wrote ``content`` with Discord's raw
markup (``<@123>``, ``<:name:id>``); current ones write it already readable. Both are read here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ingest.sources.base import Account
from retrieval.records import parse_iso

KEPT_TYPES = {"Default", "Reply", "ChatInputCommand", "ContextMenuCommand", "0", "19", "20", "23", 0, 19, 20, 23}
"""Message types that carry conversation; the rest (GuildMemberJoin, ThreadCreated,
ChannelPinnedMessage, Call, ChannelNameChange, RecipientAdd, ThreadStarterMessage...) are
housekeeping and left out. DCE names the types it knows and writes the others as Discord's
type number in a string ("20" for a slash-command reply, "21" for a thread's starter
message); plain integers appear in hand-made files."""

_FRACTION = re.compile(r"(\.\d{6})\d+")
_USER = re.compile(r"<@!?(\d+)>")
_ROLE = re.compile(r"<@&(\d+)>")
_CHANNEL = re.compile(r"<#(\d+)>")
_EMOJI = re.compile(r"<a?:(\w+):\d+>")
_STAMP = re.compile(r"<t:(-?\d+)(?::\w)?>")


class MessageError(ValueError):
    """A message that cannot be read; the text names the bad field."""


@dataclass(frozen=True)
class Message:
    """What is kept of one message: ``reply_to`` is the answered message's id, if any."""

    id: int
    created_at: datetime
    account: Account
    text: str
    reply_to: int | None
    reply_channel: str | None
    score: int


def parse_message(raw: Any) -> Message | None:
    """The message, or None for housekeeping and messages with nothing to read.

    Raises:
        MessageError: a needed field (id, timestamp, author id) is missing or malformed.
    """
    if not isinstance(raw, dict):
        raise MessageError(f"a message must be an object, not {type(raw).__name__}")
    message_id = snowflake(raw.get("id"), "id")
    kind = raw.get("type", "Default")
    if not isinstance(kind, str | int) or kind not in KEPT_TYPES:
        return None
    text = render_text(raw)
    if not text:
        return None
    reference: dict[str, Any] = raw["reference"] if isinstance(raw.get("reference"), dict) else {}
    target = reference.get("messageId") if reference.get("type", "Default") in ("Default", 0, "0") else None
    return Message(
        id=message_id, created_at=parse_time(raw.get("timestamp")), account=author_account(raw.get("author")),
        text=text, reply_to=snowflake(target, "reference.messageId") if target is not None else None,
        reply_channel=str(reference.get("channelId") or "") or None, score=reaction_count(raw.get("reactions")),
    )


def snowflake(value: Any, field: str) -> int:
    """A Discord id (a decimal string or integer) as an int."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise MessageError(f"{field} must be a Discord id (digits), not {value!r}")


def parse_time(value: Any) -> datetime:
    """A DCE timestamp (ISO 8601 with an offset; .NET writes up to 7 fraction digits)."""
    if not isinstance(value, str):
        raise MessageError(f"timestamp must be an ISO 8601 string, not {value!r}")
    try:
        return parse_iso(_FRACTION.sub(r"\1", value))
    except ValueError as e:
        raise MessageError(f"timestamp: {e}") from None


def author_account(raw: Any) -> Account:
    """The author as a Discord account: handles (user id, user name), shown by nickname."""
    if not isinstance(raw, dict):
        raise MessageError("author must be an object")
    user_id = str(snowflake(raw.get("id"), "author.id"))
    name = _string(raw.get("name"))
    shown = _string(raw.get("nickname")) or name or user_id
    handles = (user_id, name) if name else (user_id,)
    return Account(source="discord", handles=handles, name=shown)


def reaction_count(raw: Any) -> int:
    """The sum of all reaction counts (the message's score)."""
    if not isinstance(raw, list):
        return 0
    counts = (r.get("count") for r in raw if isinstance(r, dict))
    return sum(c for c in counts if isinstance(c, int) and not isinstance(c, bool) and c > 0)


def render_text(raw: dict[str, Any]) -> str:
    """The readable text: content with raw markup resolved, then attachments, stickers and
    embeds named on lines of their own; a forwarded message's own text after "[forwarded]"."""
    parts = [readable_content(_string(raw.get("content")), raw.get("mentions"))]
    forwarded = raw.get("forwardedMessage")
    if isinstance(forwarded, dict) and forwarded is not raw:
        inner = render_text({k: v for k, v in forwarded.items() if k != "forwardedMessage"})
        parts.append(f"[forwarded]\n{inner}" if inner else "")
    for item in _objects(raw.get("attachments")):
        parts.append(f"[attachment: {_string(item.get('fileName')) or _string(item.get('url')) or 'file'}]")
    for item in _objects(raw.get("stickers")):
        parts.append(f"[sticker: {_string(item.get('name')) or 'sticker'}]")
    for item in _objects(raw.get("embeds")):
        parts.append(embed_text(item))
    return "\n".join(p for p in parts if p).strip()


def readable_content(content: str, mentions: Any) -> str:
    """Old exports' raw markup made readable: user mentions by name, custom emoji as
    ``:name:``, Discord timestamps as ISO dates. Unicode emoji are kept as they are."""
    names = {str(m.get("id")): _string(m.get("nickname")) or _string(m.get("name")) for m in _objects(mentions)}
    content = _USER.sub(lambda m: "@" + (names.get(m.group(1)) or "user"), content)
    content = _ROLE.sub("@role", _CHANNEL.sub("#channel", content))
    content = _EMOJI.sub(r":\1:", content)
    return _STAMP.sub(_stamp, content).strip()


def embed_text(embed: dict[str, Any]) -> str:
    """An embed named by its title (or url) and description, plus its fields."""
    title = _string(embed.get("title")) or _string(embed.get("url"))
    lines = [f"[embed: {title}]" if title else "[embed]"]
    lines.append(_string(embed.get("description")))
    for field in _objects(embed.get("fields")):
        lines.append(f"{_string(field.get('name'))}: {_string(field.get('value'))}".strip(": "))
    return "\n".join(line for line in lines if line)


def _stamp(match: re.Match[str]) -> str:
    try:
        return datetime.fromtimestamp(int(match.group(1)), tz=UTC).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, OSError, ValueError):
        return match.group(0)


def _string(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _objects(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
