"""``townsquare keys add|list|revoke``: API keys kept as hashes in the index directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from app.keys import KeyStore
from app.settings import get_settings

keys_cli = typer.Typer(help="Make, list and revoke API keys (stored as hashes in the index directory).",
                       no_args_is_help=True)
console = Console()
err = Console(stderr=True)

IndexOption = Annotated[Path | None, typer.Option("--index", help="Index directory (default: settings.index_dir).")]


def _store(index: Path | None) -> KeyStore:
    return KeyStore(index or get_settings().index_dir)


@keys_cli.command("add")
def add(
    name: Annotated[str, typer.Argument(help="A name for the key's holder (e.g. their member id).")],
    groups: Annotated[str, typer.Option("--groups", help="Comma-separated groups the key reads.")] = "",
    role: Annotated[str, typer.Option("--role", help="member (read, feedback) or facilitator (admin views).")]
    = "member",
    index: IndexOption = None,
) -> None:
    """Make a key; it is printed once, alone on the last line, and only its hash is stored."""
    store = _store(index)
    group_list = [g.strip() for g in groups.split(",") if g.strip()]
    key = store.add(name, group_list, role)
    err.print(f"Key {name!r} ({role}; groups: {', '.join(sorted(set(group_list))) or 'none'}) stored as a hash "
              f"in {store.path}. It is shown only now:", highlight=False)
    typer.echo(key)


@keys_cli.command("list")
def list_keys(index: IndexOption = None) -> None:
    """List key names, roles and groups (never the keys or their hashes)."""
    records = _store(index).records()
    if not records:
        console.print("No keys.")
        return
    table = Table("name", "role", "groups", "created")
    for record in records:
        table.add_row(record.name, record.role, ", ".join(record.groups) or "-", record.created_at)
    console.print(table)


@keys_cli.command("revoke")
def revoke(
    name: Annotated[str, typer.Argument(help="The key's name.")],
    index: IndexOption = None,
) -> None:
    """Remove a key; a running server refuses it from its next request on."""
    _store(index).revoke(name)
    console.print(f"Revoked {name!r}.", highlight=False)
