"""``townsquare forget MEMBER``: remove what Townsquare keeps about one person."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from app.activity import ActivityLog
from app.settings import get_settings
from ingest.forget import forget_member
from retrieval.words import plural

console = Console()


def forget(
    member: Annotated[str, typer.Argument(help="The key name their questions were asked with; with --posts, "
                                                "also their member id in the community's data.")],
    posts: Annotated[bool, typer.Option("--posts", help="Also keep their posts out of the next ingest.")] = False,
    index: Annotated[Path | None, typer.Option("--index", help="Index directory (default: settings.index_dir).")]
    = None,
) -> None:
    """Delete a member's asked questions and feedback (matched by key name) and, with
    ``--posts``, keep their posts and member record out of every later ingest."""
    root = index or get_settings().index_dir
    log = ActivityLog(Path(root) / "activity.sqlite")
    try:
        questions, feedback = log.forget(member)
    finally:
        log.close()
    entries = plural(feedback, "feedback entry", "feedback entries")
    console.print(f"Deleted {plural(questions, 'question')} and {entries} of {member!r}.", highlight=False)
    if posts:
        forget_member(Path(root), member)
        console.print(f"Posts by member {member!r} will be left out from the next ingest "
                      f"(run `townsquare ingest ... --index {root}`).", highlight=False)
