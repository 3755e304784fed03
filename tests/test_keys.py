"""API keys and roles: hashed key files, the CLI, the old env shape, no key ever echoed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from app.auth import KeyRing, normalise_env_keys
from app.cli import cli
from app.keys import KeysError, KeyStore, hash_key
from app.settings import Settings

pytestmark = pytest.mark.unit
SECRET = "s3cr3t!"  # too short: the error must not show it


def test_add_stores_only_a_hash(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    key = store.add("ada", ["mentors", "mentors", "hosts"], "facilitator")
    text = store.path.read_text()
    assert key not in text and hash_key(key) in text
    assert oct(store.path.stat().st_mode & 0o777) == "0o600"
    [record] = store.records()
    assert (record.name, record.groups, record.role) == ("ada", ("hosts", "mentors"), "facilitator")
    with pytest.raises(KeysError, match="exists"):
        store.add("ada", [], "member")
    with pytest.raises(KeysError, match="known: member, facilitator"):
        store.add("bo", [], "admin")


def test_ring_finds_file_and_env_keys_and_follows_revocation(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    key = store.add("ada", ["mentors"], "facilitator")
    env = normalise_env_keys({"old-style-key": ["members"], "new-style-key": {"groups": ["x"], "role": "facilitator"}})
    ring = KeyRing.for_index(env, tmp_path)
    assert ring.identify(key) == ring.identify(key) and ring.identify(key).role == "facilitator"  # type: ignore[union-attr]
    old = ring.identify("old-style-key")
    assert old is not None and (old.groups, old.role) == (("members",), "member")
    assert old.name.startswith("env-") and "old-style" not in old.name
    assert ring.identify("new-style-key").role == "facilitator"  # type: ignore[union-attr]
    assert ring.identify("nobody-has-this-key") is None
    store.revoke("ada")
    assert ring.identify(key) is None
    with pytest.raises(KeysError, match="known: none"):
        store.revoke("ada")


def test_configuration_errors_never_show_a_key() -> None:
    for bad in ({SECRET: ["mentors"]}, {"long-enough-key": {"groups": ["a"], "role": "root"}},
                {"long-enough-key": "mentors"}):
        with pytest.raises(ValidationError) as caught:
            Settings(api_keys=bad)
        message = str(caught.value)
        assert SECRET not in message and "long-enough-key" not in message and "entry 1" in message


def test_cli_key_lifecycle(tmp_path: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(cli, ["keys", "add", "ada", "--groups", "mentors,hosts", "--role", "facilitator",
                               "--index", str(tmp_path)])
    assert made.exit_code == 0, made.output
    key = made.output.strip().splitlines()[-1]
    assert key.startswith("tsq_") and made.output.count(key) == 1
    listed = runner.invoke(cli, ["keys", "list", "--index", str(tmp_path)])
    assert "ada" in listed.output and "facilitator" in listed.output
    assert key not in listed.output and hash_key(key) not in listed.output
    assert runner.invoke(cli, ["keys", "revoke", "ada", "--index", str(tmp_path)]).exit_code == 0
    assert "No keys" in runner.invoke(cli, ["keys", "list", "--index", str(tmp_path)]).output


def test_serve_with_a_short_key_fails_in_one_line_without_it(tmp_path: Path) -> None:
    env = {**os.environ, "TOWNSQUARE_API_KEYS": json.dumps({SECRET: ["mentors"]}), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "townsquare"), "serve", "--index", str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2 and "TOWNSQUARE_API_KEYS" in done.stderr
    assert SECRET not in done.stderr + done.stdout and "Traceback" not in done.stderr
