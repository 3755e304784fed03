"""Discord loader: how well reply chains + a time gap rebuild conversations, and how fast and in
how much memory a large DiscordChatExporter file is read.

1. Conversations. The real ``Grouper`` (ingest/sources/discord_conversations.py) runs over the
   cardano.stackexchange dump as one slow, interleaved channel: questions, answers and comments
   in time order, an answer replying to its question and a comment to its post (truth: the
   question each message belongs to). Every message but a question carries a reply link there,
   more than in a Discord channel, so links are also kept for only a share of the messages
   (chosen at random) to see how the rule degrades. Scores as in bench/slack_gap.py: purity
   (messages in their segment's main conversation), completeness (messages in their
   conversation's largest segment), harmonic mean.
2. Streaming. A synthetic export of N messages (current DCE schema) is written to a temp file
   and read by ``DiscordLoader().load`` in a fresh subprocess: seconds, messages per second,
   peak RSS. Flat memory across sizes shows the file is streamed.

Usage: ``python bench/discord_load.py [--dump DIR] [--messages 20000 200000]``.
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
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree.ElementTree import iterparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the repo's ingest package, not bench/ingest.py

from ingest.sources.base import Account  # noqa: E402
from ingest.sources.discord_conversations import Grouper  # noqa: E402
from ingest.sources.discord_messages import Message  # noqa: E402

Item = tuple[datetime, int, int | None, str]  # time, id, reply target, true conversation
WORDS = ("hive queen brood frame super smoker swarm nectar pollen comb wax honey colony entrance feeder roof "
         "apiary inspection drone worker cell").split()


def cardano_items(dump: Path) -> list[Item]:
    """The site's questions, answers and comments in time order, with reply links and truth."""
    thread_of: dict[int, str] = {}
    items: list[Item] = []
    for row in _rows(dump / "Posts.xml"):
        if row.get("PostTypeId") in ("1", "2"):
            post = int(row["Id"])
            parent = int(row["ParentId"]) if row["PostTypeId"] == "2" else None
            thread_of[post] = row["Id"] if parent is None else str(parent)
            items.append((_when(row["CreationDate"]), post, parent, thread_of[post]))
    for row in _rows(dump / "Comments.xml"):
        target = int(row.get("PostId", "0"))
        if target in thread_of:
            items.append((_when(row["CreationDate"]), 10**9 + int(row["Id"]), target, thread_of[target]))
    return sorted(items)


def segments(items: list[Item], gap: timedelta, horizon: timedelta, keep_links: float,
             seed: int = 7) -> list[list[str]]:
    """True labels of each conversation the Grouper makes (links kept with chance ``keep_links``)."""
    rng = random.Random(seed)
    account = Account("discord", ("1",), "x")
    grouper = Grouper("c", lambda _: None, gap=gap, horizon=horizon)
    label: dict[int, str] = {}
    found: list[list[str]] = []
    for moment, number, target, truth in items:
        label[number] = truth
        reply = target if target is not None and rng.random() < keep_links else None
        message = Message(number, moment, account, "", reply, None, 0)
        found += [[label[m.id] for m in c.messages] for c in grouper.add(message)]
    return found + [[label[m.id] for m in c.messages] for c in grouper.finish()]


def cluster_scores(found: list[list[str]]) -> tuple[float, float, float]:
    """Purity, completeness and their harmonic mean."""
    pure = total = 0
    largest: dict[str, int] = defaultdict(int)
    for segment in found:
        counts: dict[str, int] = defaultdict(int)
        for truth in segment:
            counts[truth] += 1
        pure += max(counts.values())
        total += len(segment)
        for truth, count in counts.items():
            largest[truth] = max(largest[truth], count)
    purity, completeness = pure / max(total, 1), sum(largest.values()) / max(total, 1)
    return purity, completeness, 2 * purity * completeness / max(purity + completeness, 1e-9)


def conversation_table(dump: Path) -> None:
    """Print the conversation scores for gap-only and reply + gap rules."""
    items = cardano_items(dump)
    print(f"\n### Conversations: cardano.stackexchange as one channel ({len(items):,} messages, "
          f"{len({i[3] for i in items}):,} discussions)\n")
    print("| rule | reply links kept | conversations | purity | completeness | P/C harmonic |")
    print("|---|---|---|---|---|---|")
    rules = [("gap 30 min only", timedelta(minutes=30), timedelta(hours=24), 0.0)]
    for days in (1, 3, 7, 30):
        for keep in (0.2, 0.5, 1.0):
            rules.append((f"replies ({days} d) + gap 30 min", timedelta(minutes=30), timedelta(days=days), keep))
    for name, gap, horizon, keep in rules:
        found = segments(items, gap, horizon, keep)
        purity, completeness, harmonic = cluster_scores(found)
        print(f"| {name} | {keep:.0%} | {len(found):,} | {purity:.3f} | {completeness:.3f} | {harmonic:.3f} |")


def write_export(path: Path, count: int, seed: int = 7) -> None:
    """A current-schema DCE export of ``count`` messages, written piece by piece."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as f:
        f.write('{"guild": {"id": "1", "name": "Bench"}, "channel": {"id": "2", "type": "GuildTextChat", '
                '"category": "Talk", "name": "general"}, "dateRange": {"after": null, "before": null}, '
                '"exportedAt": "2025-01-01T00:00:00+00:00", "messages": [\n')
        moment = start
        for n in range(count):
            moment += timedelta(seconds=rng.choice((20, 60, 240, 900, 5400)))
            author = rng.randrange(400)
            message = {
                "id": str(10**17 + n), "type": "Default", "timestamp": moment.isoformat(), "timestampEdited": None,
                "isPinned": False, "content": " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 50))),
                "author": {"id": str(10**16 + author), "name": f"keeper{author}", "discriminator": "0000",
                           "nickname": f"Keeper {author}", "isBot": False, "roles": []},
                "attachments": [], "embeds": [], "stickers": [], "mentions": [], "inlineEmojis": [],
                "reactions": [{"emoji": {"id": "", "name": "🐝"}, "count": rng.randint(1, 4)}] if n % 5 == 0 else [],
            }
            if n and rng.random() < 0.3:
                message["reference"] = {"type": "Default", "messageId": str(10**17 + rng.randrange(max(0, n - 50), n))}
            f.write(("," if n else "") + json.dumps(message, indent=2) + "\n")
        f.write(f'], "messageCount": {count}}}\n')


def measure(path: Path) -> dict[str, float]:
    """Run the loader over ``path`` in this process: seconds, records, peak RSS MB."""
    from ingest.sources.base import Report, SourceFile
    from ingest.sources.discord import DiscordLoader

    started = time.perf_counter()
    report = Report()
    records = sum(1 for _ in DiscordLoader().load(SourceFile(path, path.name), report))
    return {"seconds": time.perf_counter() - started, "records": records, "errors": len(report.errors),
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def streaming_table(sizes: list[int]) -> None:
    """Print loader speed and memory for each size (each measured in a fresh process)."""
    print("\n### Streaming a large export\n")
    print("| messages | file MB | seconds | messages/s | records | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for count in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "general.json"
            write_export(path, count)
            out = subprocess.run([sys.executable, __file__, "--measure", str(path)], capture_output=True, text=True,
                                 check=True)
            result = json.loads(out.stdout)
            print(f"| {count:,} | {path.stat().st_size / 2**20:.0f} | {result['seconds']:.1f} | "
                  f"{count / result['seconds']:,.0f} | {result['records']:,} | {result['rss_mb']:.0f} |")


def _rows(path: Path):  # type: ignore[no-untyped-def]
    for _, element in iterparse(path):
        if element.tag == "row":
            yield dict(element.attrib)
        element.clear()


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def main() -> None:
    """Run both measurements (the first only when the dump is there)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dump", type=Path, default=Path("../shared/data/stackexchange-cardano/dump"))
    parser.add_argument("--messages", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    if (args.dump / "Posts.xml").exists():
        conversation_table(args.dump)
    streaming_table(args.messages)


if __name__ == "__main__":
    main()
