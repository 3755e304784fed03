"""The ``townsquare`` command: ingest, stats, search, ask, experts, serve, eval, keys, forget, migrate."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from app.cli_forget import forget
from app.cli_keys import keys_cli
from app.cli_migrate import migrate
from app.cli_progress import ingest_progress
from app.eval_cli import eval_app
from app.settings import Settings, get_settings, setting_problem
from retrieval.errors import ConfigError, TownsquareError
from retrieval.words import plural

cli = typer.Typer(
    help="Townsquare: search and cited answers over a community's knowledge.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
cli.add_typer(keys_cli, name="keys")
cli.command("forget")(forget)
cli.command("migrate")(migrate)
cli.add_typer(eval_app, name="eval")
console = Console()
err = Console(stderr=True)

IndexOption = Annotated[Path | None, typer.Option("--index", help="Index directory (default: settings.index_dir).")]
SinceOption = Annotated[str | None, typer.Option("--since", help="Only posts from this ISO date or date-time on.")]
UntilOption = Annotated[
    str | None, typer.Option("--until", help="Only posts up to this ISO date (the whole day) or date-time.")
]


def _dates(since: str | None, until: str | None):  # noqa: ANN202 - lazy import keeps `--help` fast
    from retrieval.filters import Filters, parse_date

    return Filters(since=parse_date(since, "since"), until=parse_date(until, "until"))


def _settings(index: Path | None, needs_keys: bool = False) -> Settings:
    """The settings, with ``--index`` applied. Commands that do not serve the API still run
    when only ``TOWNSQUARE_API_KEYS`` is bad (with a one-line warning)."""
    try:
        settings = get_settings()
    except ConfigError as e:
        if needs_keys or "TOWNSQUARE_API_KEYS" not in str(e):
            raise
        settings = _settings_without_keys()
        err.print(f"[yellow]warning[/yellow] {e}; ignored: this command does not use API keys",
                  highlight=False, soft_wrap=True)
    return settings.model_copy(update={"index_dir": index}) if index else settings


def _settings_without_keys() -> Settings:
    from pydantic import ValidationError

    try:
        return Settings(api_keys={})
    except ValidationError as e:
        raise ConfigError(f"bad setting: {setting_problem(e)}") from None


@cli.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    index: IndexOption = None,
    prune: Annotated[bool, typer.Option("--prune", help="Remove documents whose source is gone.")] = False,
    format: Annotated[
        str | None, typer.Option("--format", help="Read every path with this loader instead of detecting it.")
    ] = None,
) -> None:
    """Load, chunk and embed sources into the index (incremental; atomic swap)."""
    from ingest.pipeline import ingest as run_ingest
    from ingest.sources import UnknownFormatError, get_loader
    from retrieval.embedding import embedder_for_index
    from retrieval.index import IndexDir

    if format is not None:
        try:
            get_loader(format)
        except UnknownFormatError as e:
            err.print(f"[red]error[/red] --format: {e}", highlight=False)
            raise typer.Exit(2) from None
    settings = _settings(index)
    embedder = embedder_for_index(settings.index_dir, settings.model_path, settings.embedder)
    with ingest_progress(err) as progress:  # bars on a terminal, plain lines in a log or a pipe
        summary = run_ingest(
            paths, IndexDir(settings.index_dir, settings.backend_config()), embedder, prune=prune,
            max_file_bytes=settings.max_file_bytes, batch_size=settings.embed_batch_size, progress=progress,
            format=format,
        )
    for problem in summary.problems:
        style = "red" if problem.level == "error" else "yellow"
        err.print(f"[{style}]{problem.level}[/{style}] {problem}", highlight=False, soft_wrap=True)
    table = Table(title=f"Ingest into {settings.index_dir}", show_header=False)
    rows = {
        "documents": f"{summary.documents_new} new, {summary.documents_changed} changed, "
        f"{summary.documents_unchanged} unchanged, {summary.documents_removed} removed"
        + (f", {summary.documents_kept} kept as indexed (their source had errors)" if summary.documents_kept else ""),
        "chunks": f"{summary.chunks_embedded} embedded, {summary.chunks_reused} reused",
        "members": f"{summary.members} ({summary.members_new} new)",
        "files": f"{summary.files} read, {summary.skipped_files} skipped",
        "errors": str(summary.errors),
        "warnings": str(summary.warnings),
        "seconds": f"{summary.seconds:.1f}",
    }
    for name, value in rows.items():
        table.add_row(name, value)
    console.print(table)
    if summary.errors:
        err.print(f"[red]{plural(summary.errors, 'error')}: the rest was ingested[/red]")
        raise typer.Exit(1)


@cli.command()
def stats(index: IndexOption = None) -> None:
    """Print the index's counts, model and size."""
    from retrieval.index import IndexDir, snapshot_stats

    settings = _settings(index)
    snapshot = IndexDir(settings.index_dir, settings.backend_config()).open()
    info = snapshot_stats(snapshot)
    table = Table(title=f"Index {snapshot.path.parent.parent}", show_header=False)
    for name, value in info["counts"].items():
        table.add_row(name, str(value))
    table.add_row("model", f"{info['model']['name']} ({info['model']['id']}, {info['model']['dimension']} dims)")
    table.add_row("vector index", info["vector_index"])
    table.add_row("backend", info["backend"])
    table.add_row("size", f"{info['size_bytes'] / 1024 / 1024:.2f} MB")
    table.add_row("snapshot", f"{info['snapshot']} ({info['created_at']})")
    console.print(table)


@cli.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("-k", help="Number of results.", min=1, max=100)] = 10,
    index: IndexOption = None,
    group: Annotated[list[str], typer.Option("--group", help="Search as a member of this group.")] = [],  # noqa: B006
    since: SinceOption = None,
    until: UntilOption = None,
) -> None:
    """Print the best matching chunks: thread title, author, date, score, and the start of the
    text as plain text (the members' Markdown without its marks)."""
    from app.plain import snippet

    filters = _dates(since, until)
    library = _library(index)
    hits = library.searcher().search(query, k=k, filters=filters, groups=tuple(group))
    if not hits:
        console.print("No results.")
    for rank, hit in enumerate(hits, start=1):
        where = f"#{hit.channel}" if hit.channel else hit.kind
        who, date = hit.author_name or hit.author or "?", (hit.created_at or "")[:10]
        console.print(
            f"[bold]{rank}. {escape(hit.title)}[/bold]  [dim]{escape(where)} · {escape(who)} · "
            f"{date} · score {hit.score:.4f} · sim {hit.similarity:.2f}[/dim]"
        )
        console.print("   " + snippet(hit.text), highlight=False, markup=False)


@cli.command()
def serve(
    index: IndexOption = None,
    host: Annotated[str, typer.Option("--host", help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from app.keys import KeyStore
    from app.main import create_app

    settings = _settings(index, needs_keys=True)
    from retrieval.embedding import embedder_for_index
    from retrieval.index import IndexDir

    # fail fast, with the CLI's one-line message, on no index, an unknown embedder, another model's
    # index or an unreadable keys file; the app's lifespan then reuses the already loaded embedder
    index_dir = IndexDir(settings.index_dir, settings.backend_config())
    index_dir.open().close()
    index_dir.open(embedder_for_index(index_dir.root, settings.model_path, settings.embedder).model_id).close()
    KeyStore(settings.index_dir).records()
    # header bounds: h11 refuses a header block over the limit while parsing, so it must let
    # through a request line carrying a whole question (GET /experts?q=, up to max_query_chars,
    # percent-encoded: up to 4 UTF-8 bytes a character, 3 bytes each); the Guard middleware
    # bounds header count and size for either parser (431). httptools, when installed, refuses
    # any URL over 64 KiB (a 400 before the app): whole questions in any script go by POST
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning",
                h11_max_incomplete_event_size=max(settings.max_header_kb * 1024,
                                                  12 * settings.max_query_chars + 16_384),
                timeout_keep_alive=15)


@cli.command()
def ask(
    question: Annotated[str, typer.Argument(help="Your question, in plain words.")],
    index: IndexOption = None,
    group: Annotated[list[str], typer.Option("--group", help="Ask as a member of this group.")] = [],  # noqa: B006
    since: SinceOption = None,
    until: UntilOption = None,
) -> None:
    """Print a cited answer and who to ask."""
    from retrieval.answer import worded

    filters = _dates(since, until)  # a bad date is refused before the model loads
    answer = _library(index).ask(question, filters=filters, groups=tuple(group))
    console.print(worded(answer), highlight=False, markup=False)
    console.print(f"[dim]confidence {answer.confidence:.2f}{' · abstained' if answer.abstained else ''}[/dim]")
    for citation in answer.citations:
        console.print(
            f"[{citation.n}] {citation.title} — {citation.author_name or citation.author or '?'}, "
            f"{(citation.created_at or '')[:10]} {citation.url}", highlight=False, markup=False,
        )
    if answer.experts:
        console.print("People who can help: " + ", ".join(e.name for e in answer.experts), highlight=False,
                      markup=False)


@cli.command()
def experts(
    question: Annotated[str, typer.Argument(help="A topic or question.")],
    k: Annotated[int, typer.Option("-k", help="Number of members.", min=1, max=50)] = 5,
    index: IndexOption = None,
    group: Annotated[list[str], typer.Option("--group", help="Ask as a member of this group.")] = [],  # noqa: B006
) -> None:
    """Print the members who know most about a topic, with their evidence."""
    found = _library(index).experts(question, groups=tuple(group), k=k)
    if not found:
        console.print("Nobody stands out for this question.")
    for rank, expert in enumerate(found, start=1):
        console.print(f"[bold]{rank}. {escape(expert.name)}[/bold] ({escape(expert.member_id)}) "
                      f"score {expert.score:.3f}")
        if expert.why:
            console.print(f"   {expert.why.text()}", highlight=False, markup=False)
        for item in expert.evidence:
            console.print(f"   {item.role}: {item.title} ({(item.created_at or '')[:10]})", highlight=False,
                          markup=False)


@cli.command()
def mcp(
    index: IndexOption = None,
    api_key: Annotated[str | None, typer.Option("--api-key", envvar="TOWNSQUARE_API_KEY",
                                                help="Act as this API key's groups (none: public only).")] = None,
) -> None:
    """Serve the MCP tools (search, ask, experts, get_thread, get_resource) over stdio."""
    from app.deps import groups_for_key, name_for_key
    from app.mcp_server import build_server, fixed_groups, fixed_name

    settings = _settings(index)
    groups = groups_for_key(settings, api_key)
    if groups is None:
        raise TownsquareError("unknown API key (from --api-key or TOWNSQUARE_API_KEY)")
    library = _library(index)
    build_server(lambda: library, fixed_groups(groups), fixed_name(name_for_key(settings, api_key)),
                 log_level="WARNING").run("stdio")


def _library(index: Path | None):  # noqa: ANN202 - lazy import keeps `--help` fast
    from app.generator import answerer_for
    from retrieval.embedding import embedder_for_index
    from retrieval.index import IndexDir
    from retrieval.library import Library

    settings = _settings(index)
    embedder = embedder_for_index(settings.index_dir, settings.model_path, settings.embedder)
    return Library(IndexDir(settings.index_dir, settings.backend_config()), embedder, settings.search.model_dump(),
                   answerer_for(settings.generator))


def main() -> None:
    """Entry point: run the CLI, turning Townsquare errors and invalid settings into one line and exit
    code 2."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("transformers").setLevel(logging.ERROR)
    try:
        cli()
    except TownsquareError as e:
        err.print(f"[red]error:[/red] {e}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except ValidationError as e:  # messages only, never the input: keys never reach the screen
        err.print(f"[red]configuration error:[/red] settings: {_settings_problems(e)}", highlight=False)
        sys.exit(2)
    except SettingsError as e:
        err.print(f"[red]configuration error:[/red] {' '.join(str(e).split())}", highlight=False)
        sys.exit(2)


def _settings_problems(error: ValidationError) -> str:
    """One line per bad setting of a pydantic ``ValidationError``: ``field: message``."""
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'settings'}: {item['msg']}" for item in error.errors()
    )


if __name__ == "__main__":
    main()
