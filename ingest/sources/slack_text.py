"""Slack message markup turned into the readable text we index.

Slack stores a message's ``text`` in its own markup ("mrkdwn"): ``<@U123>`` mentions,
``<https://x|label>`` links, ``<#C123|name>`` channel references, ``<!here>`` and other special
mentions, and ``&amp;`` / ``&lt;`` / ``&gt;`` escaped. Older bot posts keep their words only in
``attachments``; newer messages may carry ``blocks`` (rich text) and ``files[]``; older file
shares a single ``file`` object. :func:`message_text` gathers all of it into one plain string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_ANGLE = re.compile(r"<([^<>\n]*)>")
_SPECIAL = {"here": "@here", "channel": "@channel", "everyone": "@everyone", "group": "@group"}
_ESCAPES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
PRIVATE_CHANNEL = "#private-channel"


@dataclass(frozen=True)
class Names:
    """What mentions resolve to: user id -> display name, public channel id -> name.

    Only public channels are listed, so a reference to a private channel or a DM never puts
    its name into text that more people may read (it becomes ``#private-channel``).
    """

    users: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)


def unescape(text: str) -> str:
    """Undo Slack's three HTML escapes (``&amp;`` last, so ``&amp;lt;`` stays ``&lt;``)."""
    for escaped, plain in _ESCAPES:
        text = text.replace(escaped, plain)
    return text


def render(text: str, names: Names) -> str:
    """``text`` in Slack markup as readable plain text (mentions, links, specials, escapes)."""
    return unescape(_ANGLE.sub(lambda m: _reference(m.group(1), names), text))


def _reference(inner: str, names: Names) -> str:
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        uid = target[1:]
        return "@" + (names.users.get(uid) or label or uid)
    if target.startswith("#"):
        return "#" + names.channels[target[1:]] if target[1:] in names.channels else PRIVATE_CHANNEL
    if target.startswith("!"):
        return _special(target[1:], label)
    if label and label != target and label != target.removeprefix("mailto:"):
        return f"{label} ({target})"
    return label or target.removeprefix("mailto:")


def _special(command: str, label: str) -> str:
    word = command.split("^", 1)[0]
    if word in _SPECIAL:
        return _SPECIAL[word]
    return label or f"@{word}"  # <!subteam^S1|@bees>, <!date^...|Feb 18>


def message_text(message: Mapping[str, Any], names: Names) -> str:
    """All readable text of a message: its text (or, when empty, its rich-text blocks), the
    words of its attachments (link previews only when the message has no text of its own),
    and the names of its files, one part per paragraph."""
    text = _str(message.get("text"))
    parts = [render(text, names) if text.strip() else blocks_text(message.get("blocks"), names)]
    attachments = _dicts(message.get("attachments"))
    if text.strip():  # link previews repeat a page's blurb, not the author's words
        attachments = [a for a in attachments if not _is_preview(a)]
    parts.extend(attachment_text(a, names) for a in attachments)
    files = [*_dicts(message.get("files")), *_dicts([message.get("file")])]
    if not text.strip() or message.get("files"):
        parts.extend(file_label(f) for f in files)
    return "\n\n".join(p.strip() for p in parts if p and p.strip())


def attachment_text(attachment: Mapping[str, Any], names: Names) -> str:
    """An attachment's pretext, title, text and fields (its ``fallback`` when it has none)."""
    title = _str(attachment.get("title"))
    link = _str(attachment.get("title_link"))
    parts = [_str(attachment.get("pretext")), f"{title} ({link})" if title and link else title,
             _str(attachment.get("text"))]
    for item in _dicts(attachment.get("fields")):
        parts.append(f"{_str(item.get('title'))}: {_str(item.get('value'))}".strip(": "))
    found = [render(p, names) for p in parts if p.strip()]
    return "\n".join(found) or render(_str(attachment.get("fallback")), names)


def _is_preview(attachment: Mapping[str, Any]) -> bool:
    """A link preview (unfurl) of a web page, as opposed to a shared message or a bot's card."""
    shared = attachment.get("is_msg_unfurl") is True or attachment.get("is_share") is True
    return not shared and bool(attachment.get("from_url") or attachment.get("original_url"))


def file_label(file: Mapping[str, Any]) -> str:
    """A shared file named in the text: ``[file: title]`` (title, else name)."""
    title = _str(file.get("title")) or _str(file.get("name"))
    return f"[file: {title}]" if title else ""


def blocks_text(blocks: object, names: Names) -> str:
    """Plain text of Block Kit blocks: rich-text elements and section texts."""
    lines = []
    for block in _dicts(blocks):
        if block.get("type") == "rich_text":
            lines.append("".join(_rich(e, names) for e in _dicts(block.get("elements"))))
        elif isinstance(block.get("text"), dict):
            lines.append(render(_str(block["text"].get("text")), names))
    return "\n".join(line for line in lines if line.strip())


def _rich(element: Mapping[str, Any], names: Names) -> str:
    kind = element.get("type")
    if kind in ("rich_text_section", "rich_text_preformatted", "rich_text_quote"):
        return "".join(_rich(e, names) for e in _dicts(element.get("elements"))) + "\n"
    if kind == "rich_text_list":
        return "".join("- " + _rich(e, names) for e in _dicts(element.get("elements")))
    if kind == "user":
        uid = _str(element.get("user_id"))
        return "@" + names.users.get(uid, uid)
    if kind == "channel":
        cid = _str(element.get("channel_id"))
        return "#" + names.channels[cid] if cid in names.channels else PRIVATE_CHANNEL
    if kind == "link":
        url, label = _str(element.get("url")), _str(element.get("text"))
        return f"{label} ({url})" if label and label != url else url
    if kind == "emoji":
        return f":{_str(element.get('name'))}:"
    if kind == "broadcast":
        return "@" + _str(element.get("range"))
    return _str(element.get("text"))


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _dicts(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
