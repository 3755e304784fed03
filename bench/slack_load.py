"""Slack loader speed and memory on generated exports of growing size.

Writes a synthetic Slack export (current format: plain messages, threads whose replies run into
the next day file, reactions, mentions, links) to a temp folder, then, in a fresh subprocess per
size, runs ``SlackLoader().load`` over it, counting records and dropping them, and reports wall
seconds, messages per second and the subprocess's peak RSS. Flat memory across sizes shows the
loader reads one day file at a time. Usage: ``python bench/slack_load.py [--days 50 200]``.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = ("hive queen brood frame super smoker varroa swarm nectar pollen comb wax honey colony "
         "entrance feeder roof apiary inspection mite drone worker cell").split()
CHANNELS, PER_DAY, USERS = 10, 60, 300
ROOT = Path(__file__).resolve().parent.parent


def write_export(root: Path, days: int, seed: int = 7) -> int:
    """A synthetic export with ``days`` day files per channel; returns the number of messages."""
    rng = random.Random(seed)
    users = [{"id": f"U{i:05d}", "name": f"user{i}", "profile": {"display_name": f"Keeper {i}"}} for i in range(USERS)]
    (root / "users.json").write_text(json.dumps(users))
    (root / "channels.json").write_text(json.dumps([{"id": f"C{c:04d}", "name": f"chan-{c}"} for c in range(CHANNELS)]))
    total = 0
    for c in range(CHANNELS):
        carry: list[dict[str, object]] = []
        for d in range(days):
            start = 1_600_000_000 + d * 86_400
            day = carry + [_message(rng, start + i * 1_400 + rng.randint(0, 600)) for i in range(PER_DAY)]
            carry = []
            for parent in [m for m in day if rng.random() < 0.15 and "thread_ts" not in m]:
                parent["thread_ts"] = parent["ts"]
                replies = [_message(rng, float(str(parent["ts"])) + 300 * (k + 1)) for k in range(3)]
                for r in replies:
                    r["thread_ts"] = parent["ts"]
                day += replies[:2]
                carry.append(replies[2])  # a reply in the next day's file
            folder = root / f"chan-{c}"
            folder.mkdir(exist_ok=True)
            name = time.strftime("%Y-%m-%d", time.gmtime(start))
            (folder / f"{name}.json").write_text(json.dumps(day, indent=4))
            total += len(day)
    return total


def _message(rng: random.Random, moment: float) -> dict[str, object]:
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 60)))
    text = f"<@U{rng.randrange(USERS):05d}> {words} <https://wiki.example/{rng.randrange(999)}|guide> &amp; more"
    return {"type": "message", "user": f"U{rng.randrange(USERS):05d}", "text": text, "ts": f"{moment:.6f}",
            "reactions": [{"name": "+1", "users": ["U00001"], "count": rng.randint(0, 4)}]}


def measure(export: Path) -> dict[str, float]:
    """Run the loader over ``export`` in this process: seconds, records, peak RSS MB."""
    sys.path.insert(0, str(ROOT))  # the repo's ingest package, not bench/ingest.py
    from ingest.sources.base import Report, SourceFile
    from ingest.sources.slack import SlackLoader

    started = time.perf_counter()
    report = Report()
    records = sum(1 for _ in SlackLoader().load(SourceFile(export, export.name), report))
    return {"seconds": time.perf_counter() - started, "records": records, "errors": len(report.errors),
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    """Generate each size, measure it in a fresh process, print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    print("| day files | messages | export MB | load s | messages/s | records | errors | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    for days in args.days:
        with tempfile.TemporaryDirectory() as tmp:
            export = Path(tmp) / "export"
            export.mkdir()
            messages = write_export(export, days)
            size = sum(p.stat().st_size for p in export.rglob("*")) / 1024 / 1024
            run = subprocess.run([sys.executable, __file__, "--measure", str(export)], capture_output=True, text=True)
            if run.returncode:
                raise SystemExit(run.stderr)
            out = run.stdout
            r = json.loads(out.strip().splitlines()[-1])
            print(f"| {days * CHANNELS:,} | {messages:,} | {size:.0f} | {r['seconds']:.1f} | "
                  f"{messages / r['seconds']:,.0f} | {r['records']:,} | {r['errors']} | {r['rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
