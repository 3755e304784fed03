"""How fast the mbox loader reads a large archive, and how much memory it needs.

Writes a synthetic mbox of ``--messages`` messages (the sample canopy-talk months repeated
with fresh Message-IDs and References, so threads, quotes and signatures are realistic), then
loads it with the ``mbox`` loader (split, parse, strip quotes, thread) and prints the file
size, wall time, messages per second and the process's peak resident memory. Loading only:
no embedding (see docs/benchmarks.md for the model's speed).

    .venv/bin/python -m bench.mail_load --messages 100000
"""

from __future__ import annotations

import argparse
import gzip
import logging
import resource
import tempfile
import time
from pathlib import Path

from ingest.sources.base import Report, SourceFile, ThreadPage
from ingest.sources.mail import MboxLoader

SAMPLE = Path(__file__).resolve().parent.parent / "corpus" / "sample" / "exports" / "mail" / "canopy-talk"
log = logging.getLogger("bench.mail_load")


def sample_messages() -> list[bytes]:
    """The sample months' messages as bytes, each starting with its From_ line."""
    data = (SAMPLE / "2024-May.txt").read_bytes() + gzip.decompress((SAMPLE / "2024-June.txt.gz").read_bytes())
    parts = data.split(b"\n\nFrom ")
    return [parts[0] + b"\n\n"] + [b"From " + p + b"\n\n" for p in parts[1:]]


def write_archive(path: Path, count: int) -> None:
    """``count`` messages; copy ``n`` of the sample gets ids suffixed ``.n``."""
    messages = sample_messages()
    with path.open("wb") as out:
        for n in range(count // len(messages) + 1):
            suffix = f".{n}@".encode()
            for message in messages:
                if count <= 0:
                    return
                unique = message.replace(b"@example", suffix + b"example").replace(b"@mail.", suffix + b"mail.")
                out.write(unique.replace(b"\nThanks,\n", f"\nThanks ({n}),\n".encode()))
                count -= 1


def main() -> None:
    """Run the benchmark and print one line of figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.mbox"
        write_archive(path, args.messages)
        size = path.stat().st_size
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started, cpu = time.perf_counter(), time.process_time()
        report = Report()
        threads = sum(isinstance(r, ThreadPage) for r in MboxLoader().load(SourceFile(path, path.name), report))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    log.info(
        "%d messages, %.0f MB: %d threads in %.1f s wall, %.1f s CPU (%.0f messages per CPU second); "
        "peak RSS %.0f MB (%.0f MB before loading); %d problems", args.messages, size / 1e6, threads, seconds, cpu,
        args.messages / cpu, peak / 1024, before / 1024, len(report.problems),
    )


if __name__ == "__main__":
    main()
