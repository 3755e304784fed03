"""A generated community for access-control tests: public and private threads, resources and
members, each private thing carrying unique marker strings, plus the oracle of who may see what.

Every private document's id, title, channel, tag and text carry tokens found nowhere else, so a
leak is a substring search in a response. Some members write only in private documents: for
anyone outside those groups they must not exist.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

GROUPS = ("alpha", "beta", "gamma")
VISIBILITIES: tuple[tuple[str, ...], ...] = ((), ("alpha",), ("beta",), ("alpha", "beta"), ("gamma",))
TOPICS = (
    "treating varroa mites with oxalic acid in winter",
    "feeding sugar syrup to a light colony in autumn",
    "catching a swarm from a garden hedge",
    "extracting and jarring spring honey",
    "requeening a defensive hive",
    "placing hives on a rooftop in the wind",
)
PUBLIC_MEMBERS = {"pa01": "Ada Quill", "pa02": "Bo Marsh", "pa03": "Cy Fenwick", "pa04": "Dee Harrow"}
PRIVATE_MEMBERS = {  # member id -> (name, the only visibility they write in)
    "vq71": ("Vesna Qorvath", ("alpha",)),
    "vq72": ("Ilse Trimbolt", ("beta",)),
    "vq73": ("Oren Baxtrude", ("alpha", "beta")),
}


@dataclass
class Doc:
    """One generated thread or resource and what the oracle needs to know about it."""

    kind: str
    id: str
    visibility: tuple[str, ...]
    authors: list[str]
    posts: int
    secrets: set[str] = field(default_factory=set)

    def visible_to(self, groups: tuple[str, ...]) -> bool:
        """The rule under test, stated independently of the code: public, or a shared group."""
        return not self.visibility or bool(set(self.visibility) & set(groups))


@dataclass
class Community:
    """The generated documents and members, and the marker strings of each."""

    docs: list[Doc]
    member_names: dict[str, str]

    def visible_members(self, groups: tuple[str, ...]) -> set[str]:
        """Members who wrote something visible, or nothing at all."""
        wrote: dict[str, list[Doc]] = {m: [] for m in self.member_names}
        for doc in self.docs:
            for author in doc.authors:
                wrote[author].append(doc)
        return {m for m, docs in wrote.items() if not docs or any(d.visible_to(groups) for d in docs)}

    def forbidden(self, groups: tuple[str, ...]) -> set[str]:
        """Every marker string a caller of ``groups`` must never receive."""
        hidden = {s for d in self.docs if not d.visible_to(groups) for s in d.secrets}
        for member in set(PRIVATE_MEMBERS) - self.visible_members(groups):
            hidden |= {member, self.member_names[member].lower()}
        return hidden


def _thread(rng: random.Random, n: int, visibility: tuple[str, ...]) -> tuple[dict[str, object], Doc]:
    code = "".join(g[0] for g in visibility)
    token = f"qz{n:02d}{code}k"
    topic = rng.choice(TOPICS)
    private = [m for m, (_, v) in PRIVATE_MEMBERS.items() if v == visibility]
    pool = list(PUBLIC_MEMBERS) + private
    authors = [rng.choice(private) if private and i == 0 else rng.choice(pool) for i in range(rng.randint(2, 4))]
    doc_id = f"th{n:02d}{code}x" if visibility else f"pub-{n:02d}"
    posts = [
        {"id": f"{doc_id}-p{i}", "author": a, "created_at": f"2025-{1 + (n + i) % 12:02d}-1{i}T09:00:00Z",
         "text": f"About {topic}: post {i} {('with note ' + token) if visibility else 'for everyone'}.",
         "reply_to": None if i == 0 else f"{doc_id}-p0", "accepted": i == 1, "score": rng.randint(0, 5)}
        for i, a in enumerate(authors)
    ]
    record = {
        "id": doc_id, "title": f"{topic.capitalize()} {token if visibility else ''}".strip(),
        "channel": f"ch{token}" if visibility else "general", "url": "",
        "tags": [f"tg{token}"] if visibility else ["bees"], "visibility": list(visibility) or "public",
        "posts": posts,
    }
    secrets = {doc_id, token, f"ch{token}", f"tg{token}"} if visibility else set()
    return record, Doc("thread", doc_id, visibility, authors, len(posts), secrets)


def _resource(rng: random.Random, n: int, visibility: tuple[str, ...], folder: Path) -> Doc:
    code = "".join(g[0] for g in visibility)
    token = f"rz{n:02d}{code}k"
    name = f"guide-{n:02d}{code}x.md" if visibility else f"guide-{n:02d}.md"
    author = next((m for m, (_, v) in PRIVATE_MEMBERS.items() if v == visibility), rng.choice(list(PUBLIC_MEMBERS)))
    topic = rng.choice(TOPICS)
    meta = f"title: Guide {token if visibility else n}\nauthor: {author}\nvisibility: {json.dumps(list(visibility))}\n"
    if not visibility:
        meta = meta.replace('visibility: []', "visibility: public")
    (folder / name).write_text(f"---\n{meta}---\n# Guide\n\n## Notes\n\nOn {topic}. {token if visibility else ''}\n")
    return Doc("resource", name, visibility, [author], 0, {name, token} if visibility else set())


def write_community(
    folder: Path, seed: int = 9, threads: int = 25, resources: int = 10,
    visibilities: tuple[tuple[str, ...], ...] = VISIBILITIES,
) -> Community:
    """Write a native-format corpus into ``folder``, document ``n`` visible to
    ``visibilities[n % len(visibilities)]``; returns the oracle."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    names = {**PUBLIC_MEMBERS, **{m: name for m, (name, _) in PRIVATE_MEMBERS.items()}, "zz99": "Quiet Member"}
    (folder / "members.jsonl").write_text(
        "".join(json.dumps({"id": m, "name": n, "handles": {}, "opt_out": False}) + "\n" for m, n in names.items())
    )
    docs, lines = [], []
    for n in range(threads):
        record, doc = _thread(rng, n, visibilities[n % len(visibilities)])
        lines.append(json.dumps(record))
        docs.append(doc)
    (folder / "threads.jsonl").write_text("\n".join(lines) + "\n")
    docs += [_resource(rng, n, visibilities[n % len(visibilities)], folder) for n in range(resources)]
    return Community(docs, names)
