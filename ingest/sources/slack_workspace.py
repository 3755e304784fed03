"""The workspace-level files of a Slack export: who the users are, which folders are which
channels, who may see each, and the workspace's domain when the export reveals it.

An export holds ``users.json`` and ``channels.json`` (public channels), and, in exports that
include them, ``groups.json`` (private channels), ``mpims.json`` (group DMs) and ``dms.json``
(direct messages), each possibly empty. Every conversation has a folder: named after the
channel for channels, private channels and group DMs; after the DM's id for direct messages.

Visibility, failing closed:
- a channel listed in ``channels.json`` is public unless it says ``"is_private": true``;
- a private channel (``groups.json``, or ``is_private``) is visible to the group
  ``slack:<channel name>``; a group DM to ``slack:mpim:<name>``; a DM to ``slack:dm:<id>``
  (``:`` never occurs in Slack names, so these never clash with a private channel's group);
- a folder listed nowhere, listed twice with different visibility, or whose ``is_private`` is
  not a boolean has unknown visibility: it is skipped with an error.
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import ijson

from ingest.sources.base import Report
from ingest.sources.slack_text import Names
from ingest.sources.tree import Tree
from retrieval.input_errors import json_error_text
from retrieval.records import PUBLIC

LISTS = ("channels.json", "groups.json", "mpims.json", "dms.json")
_DOMAIN = re.compile(
    rb"https:(?:\\?/){2}(?!(?:files|app|api|hooks|status|www)\.)([a-z0-9][a-z0-9-]*)\.slack\.com(?:\\?/)(?:archives|files)(?:\\?/)"
)


@dataclass(frozen=True)
class Channel:
    """A conversation of the export: its id, name, folder, and who may see it."""

    id: str
    name: str
    folder: str
    visibility: tuple[str, ...]


@dataclass(frozen=True)
class User:
    """A user as ``users.json`` lists them: display name and username (may be empty)."""

    id: str
    name: str
    username: str


@dataclass
class Workspace:
    """Everything read from the export's top-level files."""

    users: dict[str, User] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)  # by folder
    domain: str = ""

    def names(self) -> Names:
        """Mention targets: every user, and public channels only."""
        public = {c.id: c.name for c in self.channels.values() if c.visibility == PUBLIC}
        return Names(users={u.id: u.name for u in self.users.values()}, channels=public)


def read_json(tree: Tree, name: str, report: Report, max_bytes: int) -> Any:
    """The JSON value of ``name`` in ``tree``, or None after reporting why it can't be read
    (missing, over ``max_bytes``, not UTF-8 JSON)."""
    where = f"{tree.label}:{name}"
    try:
        size = tree.size(name)
        if size > max_bytes:
            report.error(where, f"skipped: {size / 1024 / 1024:.1f} MB is over the "
                                f"{max_bytes / 1024 / 1024:.1f} MB limit")
            return None
        with tree.open(name) as f:
            data = f.read(max_bytes + 1)
        return json.loads(data.decode("utf-8-sig"))
    except (OSError, KeyError, EOFError, ValueError, RuntimeError, zipfile.BadZipFile, zlib.error) as e:
        report.error(where, f"not readable as JSON ({_reason(e)}); skipped")
        return None


def _reason(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        return json_error_text(error)
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 at byte {error.start}"
    return f"{type(error).__name__}: {error}"


def read_list(tree: Tree, name: str, report: Report, max_bytes: int) -> list[dict[str, Any]]:
    """The objects of a top-level JSON array file; non-objects are reported and left out."""
    value = read_json(tree, name, report, max_bytes)
    if value is None:
        return []
    if not isinstance(value, list):
        report.error(f"{tree.label}:{name}", f"expected a JSON array, found {type(value).__name__}; skipped")
        return []
    bad = [i for i, item in enumerate(value) if not isinstance(item, dict)]
    if bad:
        report.error(f"{tree.label}:{name}", f"element {bad[0]} (and {len(bad) - 1} more) is not an object; skipped")
    return [item for item in value if isinstance(item, dict)]


def read_users(tree: Tree, present: set[str], report: Report) -> dict[str, User]:
    """``users.json`` as users by id; display name from ``profile.display_name``, then
    ``profile.real_name``, ``real_name``, ``name``, the id. Streamed one user at a time (it is
    the one workspace file that grows with the workspace, so it has no size limit); a fault
    part-way keeps the users before it."""
    where = f"{tree.label}:users.json"
    if "users.json" not in present:
        report.warning(tree.label, "no users.json: authors are named by their Slack ids")
        return {}
    users: dict[str, User] = {}
    try:
        with tree.open("users.json") as f:
            for raw in ijson.items(f, "item", use_float=True):
                user = _user(raw)
                if user is None:
                    report.error(where, f"user {len(users) + 1}: not an object with an id; skipped")
                else:
                    users[user.id] = user
    except (ijson.JSONError, OSError, ValueError, RuntimeError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        report.error(where, f"not readable as JSON after {len(users)} users ({_reason(e)}); the rest skipped")
    return users


def _user(raw: object) -> User | None:
    if not isinstance(raw, dict) or not _text(raw.get("id")):
        return None
    uid = _text(raw.get("id"))
    profile: dict[str, Any] = raw["profile"] if isinstance(raw.get("profile"), dict) else {}
    username = _text(raw.get("name"))
    name = next((n for n in (_text(profile.get("display_name")), _text(profile.get("real_name")),
                             _text(raw.get("real_name")), username) if n), uid)
    return User(uid, name, username)


def read_channels(tree: Tree, present: set[str], report: Report, max_bytes: int) -> dict[str, Channel]:
    """Every conversation listed in the export, by folder name; conflicting or unclear
    listings are reported and left out (their folders then count as unlisted)."""
    found: dict[str, Channel] = {}
    conflicts: set[str] = set()
    for list_name in LISTS:
        if list_name not in present:
            continue
        for raw in read_list(tree, list_name, report, max_bytes):
            channel = _channel(raw, list_name, f"{tree.label}:{list_name}", report)
            if channel is None:
                continue
            old = found.get(channel.folder)
            if old is not None and old.visibility != channel.visibility:
                report.error(f"{tree.label}:{list_name}", f"channel {channel.folder!r} is listed as both "
                                                          "public and private; skipped")
                conflicts.add(channel.folder)
            found.setdefault(channel.folder, channel)
    return {folder: c for folder, c in found.items() if folder not in conflicts}


def _channel(raw: Mapping[str, Any], list_name: str, where: str, report: Report) -> Channel | None:
    cid, name = _text(raw.get("id")), _text(raw.get("name"))
    if not cid or (list_name != "dms.json" and not name) or "/" in name or name.startswith("."):
        report.error(where, f"a conversation without a usable id or name ({cid or name or '?'}); skipped")
        return None
    private = raw.get("is_private", False)
    if not isinstance(private, bool):
        report.error(where, f"channel {name or cid!r}: is_private is {private!r}, not true or false; "
                            "visibility unknown, skipped")
        return None
    if list_name == "dms.json":
        return Channel(cid, f"dm:{cid}", cid, (f"slack:dm:{cid}",))
    if list_name == "mpims.json" or raw.get("is_mpim") is True:
        return Channel(cid, name, name, (f"slack:mpim:{name}",))
    if list_name == "groups.json" or private:
        return Channel(cid, name, name, (f"slack:{name}",))
    return Channel(cid, name, name, PUBLIC)


def find_domain(sample: bytes) -> str:
    """The workspace's ``<domain>.slack.com`` as file and archive links in ``sample`` show it, or ""."""
    match = _DOMAIN.search(sample)
    return match.group(1).decode() if match else ""


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""
