"""How fast the Stack Exchange dump loader reads a dump, and whether its memory stays flat as
the dump grows.

Writes a dump made of ``--copies`` copies of a real dump (default: the Cardano dump in
../shared/data), each copy's post and comment ids shifted so every copy is new questions,
answers and comments of the same site, then loads it with the ``stackexchange`` loader,
counting records and dropping them (a consumer that keeps nothing, so the figure is the
loader's own memory). Prints the dump size, wall time, posts per second and the process's peak
resident memory. Loading only: no embedding (see docs/benchmarks.md for a full ingest).
Run each size in its own process: peak memory only grows.

    .venv/bin/python -m bench.stackexchange_load --copies 10
"""

from __future__ import annotations

import argparse
import logging
import re
import resource
import tempfile
import time
from pathlib import Path

from ingest.sources.base import Account, Report, SourceFile
from ingest.sources.stackexchange import StackExchangeLoader
from retrieval.records import Thread

CARDANO = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "stackexchange-cardano" / "dump"
SHIFTED = re.compile(rb'\b(Id|ParentId|AcceptedAnswerId|PostId|RelatedPostId)="(-?\d+)"')
log = logging.getLogger("bench.stackexchange_load")


def shifted(row: bytes, shift: int) -> bytes:
    """``row`` with its post and comment ids moved up by ``shift``."""
    return SHIFTED.sub(lambda m: m[1] + b'="' + str(int(m[2]) + shift).encode() + b'"', row)


def write_dump(source: Path, target: Path, copies: int) -> None:
    """``copies`` copies of the dump at ``source`` in ``target`` (Users.xml and Tags.xml once)."""
    for path in source.iterdir():
        lines = path.read_bytes().split(b"\n")
        head, rows, tail = lines[:2], [line for line in lines[2:] if line.lstrip().startswith(b"<row")], lines[-1:]
        repeat = copies if path.name in ("Posts.xml", "Comments.xml", "PostLinks.xml") else 1
        with (target / path.name).open("wb") as out:
            out.write(b"\n".join(head) + b"\n")
            for n in range(repeat):
                for row in rows:
                    out.write(shifted(row, n * 10_000_000) + b"\n")
            out.write(b"\n".join(tail))


def main() -> None:
    """Run the benchmark and print one line of figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--dump", type=Path, default=CARDANO)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        dump = Path(folder) / "cardano.stackexchange.com"
        dump.mkdir()
        write_dump(args.dump, dump, args.copies)
        size = sum(p.stat().st_size for p in dump.iterdir())
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        report, threads, posts, accounts = Report(), 0, 0, 0
        for record in StackExchangeLoader().load(SourceFile(dump, dump.name), report):
            threads += isinstance(record, Thread)
            posts += len(record.posts) if isinstance(record, Thread) else 0
            accounts += isinstance(record, Account)
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    log.warning(
        "copies %d: %.1f MB dump, %d threads, %d posts, %d accounts, %d problems; %.1f s, %.0f posts/s; "
        "peak RSS %.0f MB (%.0f MB before loading)",
        args.copies, size / 1e6, threads, posts, accounts, len(report.problems), seconds, posts / seconds,
        peak / 1024, before / 1024,
    )


if __name__ == "__main__":
    main()
