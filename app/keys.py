"""API keys kept as hashes in ``keys.json`` in the index directory.

A key is a random secret shown once, when it is made (``townsquare keys add``); the file keeps
only its SHA-256 hash, its name, its groups and its role, so reading the file does not give
anyone a working key. Layout::

    {"version": 1, "keys": [{"name": "ada", "sha256": "<hex>", "groups": ["mentors"],
                             "role": "member", "created_at": "2026-11-30T13:00:00Z"}]}

The file is written whole to a temporary file and swapped in with ``os.replace`` (mode 0600).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, cast

from retrieval.errors import TownsquareError

KEYS_FILE = "keys.json"
ROLES = ("member", "facilitator")
Role = Literal["member", "facilitator"]
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
GROUP = re.compile(r"^[^\s,]{1,64}$")
KEY_PREFIX = "tsq_"
MIN_KEY_LENGTH = 8


class KeysError(TownsquareError):
    """A bad key name, role or group, a duplicate name, an unknown name, or an unreadable keys file."""


def hash_key(key: str) -> str:
    """The hex SHA-256 of a key (keys are long random strings, so a plain hash suffices)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh random key: the prefix and 43 URL-safe characters (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class KeyRecord:
    """One stored key: never the key itself, only its hash."""

    name: str
    sha256: str
    groups: tuple[str, ...]
    role: Role
    created_at: str = ""


def check_role(role: str) -> Role:
    """``role`` if it is a known role; a :class:`KeysError` listing the known ones otherwise."""
    if role not in ROLES:
        raise KeysError(f"unknown role {role!r}; known: {', '.join(ROLES)}")
    return cast(Role, role)


def check_groups(groups: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Group names, sorted and unique; a name with spaces or commas is an error."""
    for group in groups:
        if not GROUP.match(group):
            raise KeysError(f"bad group name {group!r}: 1-64 characters, no spaces or commas")
    return tuple(sorted(set(groups)))


class KeyStore:
    """The keys file of one index directory."""

    def __init__(self, index_root: Path) -> None:
        self.path = Path(index_root) / KEYS_FILE

    def records(self) -> list[KeyRecord]:
        """Every stored key (an absent file means none).

        Raises:
            KeysError: the file is not valid JSON of the layout above.
        """
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as e:
            raise KeysError(f"{self.path}: unreadable keys file ({type(e).__name__})") from None
        try:
            return [_record(item) for item in raw["keys"]]
        except (KeyError, TypeError, ValueError, KeysError) as e:
            raise KeysError(f"{self.path}: bad keys file ({e})") from None

    def add(self, name: str, groups: list[str], role: str) -> str:
        """Make and store a new key called ``name``; returns the key (the only time it exists
        outside the caller's hands).

        Raises:
            KeysError: bad name, role or group, or ``name`` is taken.
        """
        if not NAME.match(name):
            raise KeysError(f"bad key name {name!r}: letters, digits, '_', '.', '@', '-' (up to 64)")
        records = self.records()
        if any(r.name == name for r in records):
            raise KeysError(f"a key named {name!r} exists; revoke it first")
        key = new_key()
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        records.append(KeyRecord(name, hash_key(key), check_groups(groups), check_role(role), stamp))
        self._write(records)
        return key

    def revoke(self, name: str) -> None:
        """Remove the key called ``name``; an unknown name is a :class:`KeysError`."""
        records = self.records()
        kept = [r for r in records if r.name != name]
        if len(kept) == len(records):
            known = ", ".join(r.name for r in records) or "none"
            raise KeysError(f"no key named {name!r}; known: {known}")
        self._write(kept)

    def _write(self, records: list[KeyRecord]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        data = {"version": 1, "keys": [{**asdict(r), "groups": list(r.groups)} for r in records]}
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
        os.replace(tmp, self.path)


def _record(item: dict[str, object]) -> KeyRecord:
    digest = str(item["sha256"])
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ValueError(f"key {item.get('name')!r}: sha256 is not 64 hex digits")
    groups = item.get("groups") or []
    if not isinstance(groups, list):
        raise ValueError(f"key {item.get('name')!r}: groups must be a list")
    return KeyRecord(
        name=str(item["name"]), sha256=digest, groups=check_groups([str(g) for g in groups]),
        role=check_role(str(item.get("role", "member"))), created_at=str(item.get("created_at", "")),
    )
