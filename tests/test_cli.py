"""The ``townsquare`` command's edges: bad settings are one clear line, never a traceback;
progress in a log or a pipe is plain lines."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from retrieval.index import IndexDir
from retrieval.library import Library

ROOT = Path(__file__).resolve().parent.parent


def _townsquare(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from app.cli import main; main()", *args]
    return subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


def test_an_invalid_setting_is_one_line_naming_it_not_a_traceback(tmp_path: Path) -> None:
    done = _townsquare("stats", "--index", str(tmp_path), env={"TOWNSQUARE_API_KEYS": '{"short": ["mentors"]}'})
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "API_KEYS" in done.stderr.upper() and "shorter than 8" in done.stderr


def test_ingest_into_a_pipe_prints_plain_progress_lines(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(3):
        (corpus / f"note-{n}.md").write_text(f"# Note {n}\n\nSmoke the hive gently before inspection {n}.\n")
    done = _townsquare("ingest", str(corpus), "--index", str(tmp_path / "index"), env={"HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert "loading 0/3 (0%) 0 s" in lines  # each stage says it started ...
    assert any(re.fullmatch(r"loading 3/3 \(100%\) \d+ s", line) for line in lines)  # ... and finished
    assert any(re.fullmatch(r"embedding (\d+)/\1 \(100%\) \d+ s", line) for line in lines)
    assert "\x1b[" not in done.stderr and "━" not in done.stderr  # no terminal bars or escape codes


def test_the_ingest_summary_counts_the_index_s_members(index_copy: IndexDir) -> None:
    stored = index_copy.open().manifest.counts["members"]
    done = _townsquare("ingest", "corpus/sample", "--index", str(index_copy.root), env={"HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    assert re.search(rf"members\s*│\s*{stored} \(0 new\)\s*│", done.stdout), done.stdout


def test_plain_progress_writes_a_line_per_interval_not_per_step() -> None:
    from app.cli_progress import PlainProgress

    now = [0.0]
    out = io.StringIO()
    progress = PlainProgress(out, every=10, clock=lambda: now[0])
    task = progress.add_task("embedding", total=1000)
    for _ in range(100):  # 10 steps a second for 10 s, then 90 s more
        now[0] += 1
        progress.advance(task, 10)
    assert out.getvalue().splitlines() == [
        "embedding 0/1000 (0%) 0 s", "embedding 100/1000 (10%) 10 s", "embedding 200/1000 (20%) 20 s",
        "embedding 300/1000 (30%) 30 s", "embedding 400/1000 (40%) 40 s", "embedding 500/1000 (50%) 50 s",
        "embedding 600/1000 (60%) 60 s", "embedding 700/1000 (70%) 70 s", "embedding 800/1000 (80%) 80 s",
        "embedding 900/1000 (90%) 90 s", "embedding 1000/1000 (100%) 100 s",
    ]


def test_plain_progress_writes_a_line_every_interval_even_between_steps() -> None:
    """A step longer than the interval (a model batch on a loaded machine) still gets its lines:
    the timer's ``tick`` writes one when due, with the counts so far."""
    from app.cli_progress import PlainProgress

    now = [0.0]
    out = io.StringIO()
    progress = PlainProgress(out, every=10, clock=lambda: now[0])
    task = progress.add_task("embedding", total=64)
    for moment, step in ((9.5, None), (10, None), (12, 32), (20, None), (23, 32), (40, None)):
        now[0] = moment
        if step is None:
            progress.tick()
        else:
            progress.advance(task, step)
    assert out.getvalue().splitlines() == [
        "embedding 0/64 (0%) 0 s", "embedding 0/64 (0%) 10 s", "embedding 32/64 (50%) 20 s",
        "embedding 64/64 (100%) 23 s",  # and none once complete
    ]


def test_the_heartbeat_thread_ticks_until_the_block_ends() -> None:
    import threading
    import time

    from app.cli_progress import PlainProgress, heartbeat

    now = [0.0]
    out = io.StringIO()
    progress = PlainProgress(out, every=10, clock=lambda: now[0])
    with heartbeat(progress, beat=0.01):
        progress.add_task("loading", total=1)
        now[0] = 10.0  # ten seconds pass on the progress clock; no step completes
        waited = 0.0
        while len(out.getvalue().splitlines()) < 2 and waited < 30:  # the thread's line, however slow the machine
            time.sleep(0.01)
            waited += 0.01
    assert out.getvalue().splitlines() == ["loading 0/1 (0%) 0 s", "loading 0/1 (0%) 10 s"]
    assert not [t for t in threading.enumerate() if t.name == "ingest-progress"]  # joined on exit


@pytest.mark.integration
def test_search_prints_post_text_as_plain_text(sample_index: IndexDir, library: Library) -> None:
    """Headings, bold and link brackets of the members' Markdown are not printed."""
    from typer.testing import CliRunner

    from app.cli import cli

    query = "when to treat for varroa"
    assert any(re.search(r"(?m)^#+ ", h.text) for h in library.searcher().search(query, k=3))  # there is some
    result = CliRunner().invoke(cli, ["search", query, "-k", "3", "--index", str(sample_index.root)])
    assert result.exit_code == 0, result.output
    snippets = [line for line in result.output.splitlines() if line.startswith("   ")]
    assert len(snippets) == 3 and not any(re.search(r"#{1,6} |\*\*|\]\(", line) for line in snippets), snippets


@pytest.mark.integration
def test_ask_and_experts_print_forum_markup_as_written(tmp_path: Path) -> None:
    """BBCode-like text from a forum export ("[/quote]", "[bold]") is printed literally by
    ``ask`` and ``experts``: the console's own markup must not read it (a stray closing tag made
    rich raise, and "[bold]" was styled)."""
    from typer.testing import CliRunner

    from app.cli import cli

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "forum.md").write_text(
        "---\nauthor: \"[bold]Quill[/bold]\"\n---\n# Re: queen excluder [/quote]\n\n"
        "[quote]Use an excluder?[/quote] I never use a queen excluder [/quote] on brood boxes in spring.\n")
    index = tmp_path / "index"
    assert _townsquare("ingest", str(corpus), "--index", str(index), env={"HF_HUB_OFFLINE": "1"}).returncode == 0
    for command in (["ask", "queen excluder on brood boxes"], ["experts", "queen excluder on brood boxes"]):
        result = CliRunner().invoke(cli, [*command, "--index", str(index)])
        assert result.exit_code == 0, (command, result.output, result.exception)
        assert "[/quote]" in result.output, (command, result.output)
    assert "[bold]Quill[/bold]" in CliRunner().invoke(cli, ["experts", "queen excluder", "--index", str(index)]).output


@pytest.mark.parametrize(("command", "option", "value"), [
    ("search", "--since", ""), ("search", "--since", " "), ("ask", "--until", "\t"),
])
def test_a_blank_date_is_one_line_naming_it_not_no_filter(tmp_path: Path, command: str, option: str,
                                                          value: str) -> None:
    done = _townsquare(command, "varroa", option, value, "--index", str(tmp_path), env={"HF_HUB_OFFLINE": "1"})
    assert done.returncode == 2, done.stdout
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert f"{option.lstrip('-')} is" in done.stderr and "ISO 8601 date" in done.stderr
