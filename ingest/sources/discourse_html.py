"""A Discourse post's ``cooked`` HTML as clean text (Markdown-flavoured).

Discourse renders posts to HTML with a few constructs of its own, reduced here to their text
before the rest is laid out as text by inscriptis (paragraphs, lists, code blocks):

- quotes: ``<aside class="quote" data-username="...">`` with a title bar (avatar, name) and a
  ``<blockquote>``: kept as ``>`` lines led by "username wrote:";
- oneboxes: ``<aside class="onebox">`` link previews (site icon, title, excerpt): reduced to
  "[link: title] url"; a bare ``<a class="onebox">`` is left as its link text;
- emoji: ``<img class="emoji" alt=":bee:">``: the alt text (``:bee:``);
- lightboxes: ``<div class="lightbox-wrapper">`` (image, file name, size, expand icon):
  "[image: file name]"; other images become "[image: alt]" when they have alt text;
- avatars, SVG icons and the quote/onebox controls are dropped.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Tag
from inscriptis import get_text
from inscriptis.model.config import ParserConfig

_BLANKS = re.compile(r"\n{3,}")
_CONFIG = ParserConfig(display_links=False, display_images=False)


def cooked_to_text(cooked: str) -> str:
    """Clean text of a post's cooked HTML; broken HTML is read as well as the parser can."""
    soup = BeautifulSoup(cooked, "html.parser")
    for element in soup.find_all(["svg", "script", "style"]):
        element.decompose()
    for aside in soup.select("aside.quote"):
        _replace_quote(soup, aside)
    for aside in soup.select("aside.onebox"):
        _replace_onebox(soup, aside)
    for wrapper in soup.select("div.lightbox-wrapper"):
        _replace_with_text(soup, wrapper, f"[image: {_lightbox_name(wrapper)}]")
    for link in soup.select("a.lightbox"):  # a lightbox whose wrapper a re-saved or trimmed post lost
        _replace_with_text(soup, link, f"[image: {_lightbox_name(link)}]")
    for image in soup.find_all("img"):
        _replace_image(soup, image)
    text = get_text(str(soup), _CONFIG) if soup.get_text(strip=True) else ""
    return _BLANKS.sub("\n\n", "\n".join(line.rstrip() for line in text.splitlines())).strip()


def _replace_quote(soup: BeautifulSoup, aside: Tag) -> None:
    who = str(aside.get("data-username") or "").strip()
    if not who and (title := aside.select_one(".title")):
        who = title.get_text(" ", strip=True).rstrip(":").removesuffix(" said").strip()  # older versions
    body = aside.find("blockquote")
    quoted = get_text(str(body), _CONFIG).strip() if isinstance(body, Tag) else ""
    lines = [f"> {who} wrote:" if who else "> Quote:"] + [f"> {line}".rstrip() for line in quoted.splitlines()]
    quote = soup.new_tag("pre")  # kept line by line as written here
    quote.string = "\n".join(lines)
    aside.replace_with(quote)


def _replace_onebox(soup: BeautifulSoup, aside: Tag) -> None:
    url = str(aside.get("data-onebox-src") or "")
    heading = aside.select_one("h3, h4") or aside.select_one("article a")
    title = heading.get_text(" ", strip=True) if heading else ""
    if not url and (link := aside.find("a", href=True)):
        url = str(link["href"])
    _replace_with_text(soup, aside, " ".join(part for part in (f"[link: {title}]" if title else "[link]", url) if part))


def _lightbox_name(wrapper: Tag) -> str:
    name = wrapper.select_one(".filename")
    if name and name.get_text(strip=True):
        return name.get_text(strip=True)
    link, image = wrapper.find("a"), wrapper.find("img")
    for candidate in (link.get("title") if isinstance(link, Tag) else None,
                      image.get("alt") if isinstance(image, Tag) else None):
        if candidate and str(candidate).strip():
            return str(candidate).strip()
    return "image"


def _replace_image(soup: BeautifulSoup, image: Tag) -> None:
    classes = list(image.get("class") or [])
    alt = str(image.get("alt") or image.get("title") or "").strip()
    if "emoji" in classes:
        _replace_with_text(soup, image, alt)
    elif "avatar" in classes or "site-icon" in classes or not alt:
        image.decompose()
    else:
        _replace_with_text(soup, image, f"[image: {alt}]")


def _replace_with_text(soup: BeautifulSoup, element: Tag, text: str) -> None:
    block = element.name in ("aside", "div")
    replacement = soup.new_tag("p") if block else None
    if replacement is not None:
        replacement.string = text
        element.replace_with(replacement)
    else:
        element.replace_with(text)


def quoted_ranges(text: str) -> tuple[tuple[int, int], ...]:
    """The ``(start, end)`` character ranges of ``text`` (from :func:`cooked_to_text`) that are
    quoted lines (``> ...``, a quote's ``> who wrote:`` included), line ends with them: shown
    to readers but not embedded, so a reply is searched, quoted and credited by its own words."""
    ranges: list[tuple[int, int]] = []
    start = 0
    for line in text.splitlines(keepends=True):
        end = start + len(line)
        if line.startswith(">"):
            if ranges and ranges[-1][1] == start:
                ranges[-1] = (ranges[-1][0], end)
            else:
                ranges.append((start, end))
        start = end
    return tuple(ranges)
