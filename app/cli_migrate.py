"""``townsquare migrate``: move an index to another storage backend without re-ingesting."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console()


def migrate(
    backend: Annotated[str | None, typer.Option(
        "--backend", help="Backend to move to (default: the default of new indexes, sqlite-sparse-faiss).")] = None,
    index: Annotated[Path | None, typer.Option("--index", help="Index directory (default: settings.index_dir).")]
    = None,
) -> None:
    """Rebuild the index's keyword index for another backend (e.g. an index built before
    sparse BM25 became the default: FTS5 -> sparse BM25), from the texts it already holds: no
    re-embedding, an atomic swap, and a running server picks it up."""
    from app.settings import get_settings
    from retrieval.backends import DEFAULT_BACKEND, BackendConfig
    from retrieval.index import IndexDir
    from retrieval.migrate import migrate as run_migrate
    from retrieval.words import plural

    settings = get_settings()
    root = index or settings.index_dir
    target = BackendConfig(backend or DEFAULT_BACKEND, settings.backend_options())
    index_dir = IndexDir(root, settings.backend_config())
    start = time.perf_counter()
    manifest = run_migrate(index_dir, target)
    if manifest is None:
        console.print(f"{root} already uses backend {target.name}: nothing to do.", highlight=False)
        return
    console.print(f"Migrated {root} to backend {target.name}: {plural(manifest.counts.get('chunks', 0), 'chunk')}, "
                  f"{time.perf_counter() - start:.1f} s.", highlight=False)
