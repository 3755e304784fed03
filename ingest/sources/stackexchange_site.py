"""Which Stack Exchange site a dump comes from, and the small text rules of dump fields.

A dump never names its own site. Two sources of that name are sound, tried in order:

1. The name of the folder or archive: the Internet Archive hands out
   ``cardano.stackexchange.com.7z`` (and ``stackoverflow.com-Posts.7z``), and people unpack
   it under that name. A name that is a host name (``cardano.stackexchange.com``,
   ``superuser.com``, ``mathoverflow.net``), optionally followed by ``-Posts`` or an archive
   suffix, is taken as the site.
2. The site's links to itself: posts link to other questions of the same site as
   ``https://HOST/questions/ID/SLUG``. A link counts as a vote for HOST only when ID is a
   question in this dump and SLUG matches that question's title, so links to other sites
   (which carry other ids and titles) do not vote. The host with most votes wins.

Without either, the site is unknown: threads get no url and ids use the folder's name.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

HOST_NAME = re.compile(r"^((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,})(?:-[a-z]+)?$")
ARCHIVE_SUFFIXES = (".zip", ".7z")
SELF_LINK = re.compile(r"https?://([a-z0-9.-]+\.[a-z]{2,})/questions/(\d+)/([a-z0-9-]+)", re.IGNORECASE)
SLUG_PREFIX = 24  # characters of a slug compared: titles are edited, links are not


def site_from_name(name: str) -> str:
    """The site host named by a folder or archive name, or "" (see the module docstring)."""
    lowered = name.strip().lower()
    for suffix in ARCHIVE_SUFFIXES:
        lowered = lowered.removesuffix(suffix)
    found = HOST_NAME.match(lowered)
    return found.group(1) if found else ""


def self_links(html: str) -> Iterable[tuple[str, int, str]]:
    """(host, question id, slug) of every question link in a post body."""
    for host, qid, slug in SELF_LINK.findall(html):
        yield host.lower(), int(qid), slug.lower()


def slug(title: str) -> str:
    """A title as Stack Exchange puts it in question URLs: lower case, words joined by ``-``."""
    return "-".join(re.findall(r"[a-z0-9]+", title.lower()))


def vote_site(links: Iterable[tuple[str, str, str]]) -> str:
    """The host most often linked with a slug matching the linked question's title, or "".

    ``links`` holds (host, link slug, title of the linked question in this dump).
    """
    votes: Counter[str] = Counter()
    for host, link_slug, title in links:
        expected = slug(title)[:SLUG_PREFIX]
        if expected and link_slug[:SLUG_PREFIX] == expected:
            votes[host] += 1
    return votes.most_common(1)[0][0] if votes else ""


def parse_tags(value: str) -> tuple[str, ...]:
    """Tags from the dump's ``<a><b>`` form (older dumps) or ``|a|b|`` form (newer dumps)."""
    parts = re.findall(r"<([^<>]+)>", value) if "<" in value else value.split("|")
    return tuple(dict.fromkeys(p.strip() for p in parts if p.strip()))
