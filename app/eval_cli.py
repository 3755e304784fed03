"""``townsquare eval retrieval DIR`` and ``townsquare eval experts THREADS_DIR --split DATE``:
wiring only (the work is in ``app/evaluate.py``, the metrics in ``retrieval/evaluation.py``)."""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from app.cli_progress import ingest_progress
from app.settings import get_settings
from retrieval.errors import BadQueryError
from retrieval.words import plural

if TYPE_CHECKING:
    from ingest.pipeline import ProgressSink

eval_app = typer.Typer(help="Score Townsquare on your own labelled questions.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

WorkOption = Annotated[
    Path | None,
    typer.Option("--work", help="Folder for the scratch index, kept and reused (default: a temporary folder)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")]


@eval_app.command("retrieval")
def retrieval(
    folder: Annotated[Path, typer.Argument(help="BEIR folder: corpus.jsonl, queries.jsonl, qrels.tsv.")],
    work: WorkOption = None,
    as_json: JsonOption = False,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Fail when qrels.tsv judges ids that corpus.jsonl or queries.jsonl lack.")] = False,
) -> None:
    """nDCG@10, MRR@10 and Recall@100 of search (configured model, backend, fusion) on a BEIR folder.

    Qrels ids missing from the corpus or the queries are a warning on stderr (an error with
    ``--strict``): a judged document nobody can find lowers the scores without saying why."""
    from app.evaluate import build_library, collection_threads, retrieval_run, write_sources
    from retrieval.evaluation import RETRIEVAL_MEASURES, mean_scores, per_query, read_collection

    collection = read_collection(folder)
    unknown = collection.unknown_ids_message()
    if unknown and strict:
        raise BadQueryError(f"{folder}: {unknown}")
    if unknown:
        err.print(f"[yellow]warning:[/yellow] {folder}: {unknown}", highlight=False, soft_wrap=True)
    with _scratch(work) as scratch, _progress() as progress:
        sources = write_sources(collection_threads(collection), [_author()], scratch / "sources")
        library = build_library(sources, scratch / "index", get_settings(), progress)
        run = retrieval_run(library, collection.queries, _bar(progress, "queries", len(collection.queries)))
    scores = mean_scores(per_query({q: collection.qrels[q] for q in collection.queries}, run, RETRIEVAL_MEASURES))
    facts = {"collection": str(folder), "documents": len(collection.corpus), "queries": len(collection.queries)}
    _report(f"Retrieval on {folder}", facts, scores, as_json)


@eval_app.command("experts")
def experts(
    folder: Annotated[Path, typer.Argument(help="Folder of threads JSONL files (and members.jsonl).")],
    split: Annotated[
        str, typer.Option("--split", help="ISO date: index what was written before, ask what came after.")
    ],
    work: WorkOption = None,
    as_json: JsonOption = False,
) -> None:
    """MRR, P@1 and nDCG@3 of ``Library.experts`` on questions asked after a date."""
    from app.evaluate import build_library, expert_split, experts_run, read_threads, write_sources
    from retrieval.evaluation import EXPERT_MEASURES, mean_scores, per_query
    from retrieval.records import parse_iso

    try:
        cut = parse_iso(split)
    except ValueError as e:
        raise BadQueryError(f"--split: {e}") from None
    threads, members = read_threads(folder)
    plan = expert_split(threads, cut)
    if not plan.before or not plan.questions:
        raise BadQueryError(f"--split {split}: {plural(len(plan.before), 'thread')} before it and "
                            f"{plural(len(plan.questions), 'later question')} with an earlier answerer; "
                            "pick a date with both")
    with _scratch(work) as scratch, _progress() as progress:
        sources = write_sources(plan.before, members, scratch / "sources")
        library = build_library(sources, scratch / "index", get_settings(), progress)
        run = experts_run(library, plan.questions, _bar(progress, "questions", len(plan.questions)))
    scores = mean_scores(per_query(plan.qrels, run, EXPERT_MEASURES))
    facts = {"threads": str(folder), "split": split, "indexed_threads": len(plan.before),
             "later_questions": plan.later, "questions": len(plan.questions)}
    _report(f"Expert finding on {folder}, split {split}", facts, scores, as_json)


def _author() -> dict[str, Any]:
    from app.evaluate import AUTHOR

    return {"id": AUTHOR, "name": "Evaluation corpus", "handles": {}, "opt_out": False}


@contextmanager
def _scratch(work: Path | None) -> Iterator[Path]:
    if work is not None:
        work.mkdir(parents=True, exist_ok=True)
        yield work
        return
    with tempfile.TemporaryDirectory(prefix="townsquare-eval-") as folder:
        yield Path(folder)


def _progress() -> AbstractContextManager[ProgressSink]:
    return ingest_progress(err)


def _bar(progress: ProgressSink, name: str, total: int) -> Callable[[], None]:
    task = progress.add_task(name, total=total)
    return lambda: progress.advance(task)


def _report(title: str, facts: dict[str, Any], scores: dict[str, float], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps({**facts, "metrics": {k: round(v, 4) for k, v in scores.items()}}) + "\n")
        return
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in scores.items():
        table.add_row(name, f"{value:.4f}")
    console.print(table)
    console.print(", ".join(f"{k}: {v}" for k, v in facts.items()), highlight=False)
