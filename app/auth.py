"""Who holds a key: its name, groups and role, looked up by hash in constant time.

Keys come from two places: the keys file of the index directory (``townsquare keys add``,
see :mod:`app.keys`) and, for existing set-ups, ``TOWNSQUARE_API_KEYS``. That variable is a
JSON object whose values take either shape::

    {"old-style-key": ["mentors"],
     "new-style-key": {"groups": ["mentors"], "role": "facilitator", "name": "ada"}}

A list means a member of those groups. An object may give ``role`` (``member`` when absent)
and ``name`` (``env-`` and 8 hex digits of the key's hash when absent). Neither the keys nor
their hashes are ever logged; errors name an entry by its position and name, not its key.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.keys import MIN_KEY_LENGTH, KeysError, KeyStore, check_groups, check_role, hash_key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Identity:
    """A key's holder: ``name`` (not secret), ``groups`` they read, ``role`` (member or facilitator)."""

    name: str
    groups: tuple[str, ...]
    role: str


def normalise_env_keys(value: Any) -> dict[str, dict[str, Any]]:
    """``TOWNSQUARE_API_KEYS`` in either shape, as ``{key: {"groups", "role", "name"}}``.

    Raises:
        ValueError: a bad entry, named by position (and name when it has one), never by key.
    """
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object mapping keys to groups")
    out: dict[str, dict[str, Any]] = {}
    for n, (key, entry) in enumerate(value.items(), start=1):
        where = f"entry {n}" + (f" ({entry['name']!r})" if isinstance(entry, dict) and "name" in entry else "")
        if not isinstance(key, str) or len(key) < MIN_KEY_LENGTH:
            raise ValueError(f"{where}: the key is shorter than {MIN_KEY_LENGTH} characters")
        if isinstance(entry, list):
            entry = {"groups": entry}
        if not isinstance(entry, dict) or not isinstance(entry.get("groups", []), list):
            raise ValueError(f"{where}: give a list of groups or an object with groups, role and name")
        try:
            out[key] = {
                "groups": list(check_groups([str(g) for g in entry.get("groups", [])])),
                "role": check_role(str(entry.get("role", "member"))),
                "name": str(entry.get("name") or "env-" + hash_key(key)[:8]),
            }
        except KeysError as e:
            raise ValueError(f"{where}: {e}") from None
    return out


class KeyRing:
    """Every usable key, as hashes; the keys file is re-read when it changes on disk, so
    ``keys add`` and ``keys revoke`` act on a running server."""

    def __init__(self, env_keys: dict[str, dict[str, Any]], store: KeyStore) -> None:
        self._env = [
            (bytes.fromhex(hash_key(key)), Identity(e["name"], tuple(e["groups"]), e["role"]))
            for key, e in env_keys.items()
        ]
        self._store = store
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._file: list[tuple[bytes, Identity]] = []
        self._reload()

    @classmethod
    def for_index(cls, env_keys: dict[str, dict[str, Any]], index_root: Path) -> KeyRing:
        """The ring of ``TOWNSQUARE_API_KEYS`` plus the keys file in ``index_root``.

        Raises:
            KeysError: the keys file exists but cannot be read.
        """
        return cls(env_keys, KeyStore(index_root))

    def identify(self, key: str) -> Identity | None:
        """The holder of ``key``, or None. Every stored hash is compared, in constant time."""
        self._maybe_reload()
        digest = hashlib.sha256(key.encode("utf-8")).digest()
        found = None
        for stored, identity in self._env + self._file:
            if hmac.compare_digest(stored, digest) and found is None:
                found = identity
        return found

    def _maybe_reload(self) -> None:
        if _stamp(self._store.path) != self._stamp:
            with self._lock:
                try:
                    self._reload()
                except KeysError as e:  # fail closed: no file keys until the file is fixed
                    log.error("keys file unusable, its keys are refused: %s", e)
                    self._file, self._stamp = [], _stamp(self._store.path)

    def _reload(self) -> None:
        stamp = _stamp(self._store.path)
        records = self._store.records()
        self._file = [(bytes.fromhex(r.sha256), Identity(r.name, r.groups, r.role)) for r in records]
        self._stamp = stamp


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return (info.st_ino, info.st_mtime_ns, info.st_size)
