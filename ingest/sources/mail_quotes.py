"""Finding what in a mail body is not the sender's own words: quoted replies, attribution
lines, forwarded-original blocks, signatures and list footers; and re-flowing hard-wrapped
paragraphs (:func:`reflow`).

These parts stay in the post for display; :func:`unembedded_ranges` returns where they are so
the chunker leaves them out (``Post.unembedded``). Everything here works on lines and is
deliberately conservative: a line is left out only when it matches one of the shapes below.

- quoted lines: ``>`` (up to three spaces of indent), with the blank lines between them;
- an attribution just above a quote (``On Tue, ... Priya wrote:``, ``Am ... schrieb ...:``,
  ``Le ... a écrit :``, ``El ... escribió:``, ``Il ... ha scritto:``, ``Op ... schreef ...:``,
  ``Den ... skrev ...:``, ``W dniu ... napisał:``, ``Em ... escreveu:``), on one or two lines;
- from ``-----Original Message-----`` (and its translations), from an Outlook reply header
  (``From:`` followed by ``Sent:``/``Date:`` and ``Subject:``), or from pipermail's
  ``-------------- next part --------------`` to the end;
- from a signature separator (``-- `` or ``--`` alone on a line) to the end;
- from a Mailman footer (a line of underscores followed by the list's name, address or
  listinfo link) or a Groups.io footer (``-=-=-=-...``) to the end.
"""

from __future__ import annotations

import re

QUOTED = re.compile(r"^ {0,3}>")
WROTE = re.compile(
    r"(wrote|writes|schrieb|a écrit|escribió|escribio|ha scritto|schreef|skrev|napisał|napisała|napisal|"
    r"escreveu|kirjoitti|írta|пишет|написал|написала)\b[^:]{0,80}:\s*$",
    re.IGNORECASE,
)
OPENER = re.compile(r"^\s*(On|Am|Le|El|Il|Op|Den|På|W dniu|Em|Dne)\b", re.IGNORECASE)
ORIGINAL = re.compile(
    r"^\s*-{3,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original|"
    r"Messaggio originale|Oorspronkelijk bericht|Originalmeddelande|Opprinnelig melding|"
    r"Oprindelig meddelelse|Wiadomość oryginalna|Mensagem original)\s*-{3,}\s*$",
    re.IGNORECASE,
)
NEXT_PART = re.compile(r"^-{5,} next part -{5,}\s*$")
OUTLOOK_FROM = re.compile(r"^\s*\*?(From|Von|De|Van|Från|Fra|Od)\s*:\*?\s", re.IGNORECASE)
OUTLOOK_SENT = re.compile(r"^\s*\*?(Sent|Date|Gesendet|Envoyé|Enviado|Inviato|Verzonden|Skickat|Sendt)\s*:", re.I)
OUTLOOK_SUBJECT = re.compile(r"^\s*\*?(Subject|Betreff|Objet|Asunto|Oggetto|Onderwerp|Ämne|Emne)\s*:", re.I)
RULE = re.compile(r"^_{20,}\s*$")
LIST_HINT = re.compile(r"mailing list|listinfo|unsubscribe|@|https?://", re.IGNORECASE)
GROUPSIO_FOOTER = re.compile(r"^(-=){5,}-?\s*$")
SIGNATURE = re.compile(r"^--[ \t]?$")

BOUNDARY = re.compile("|".join(
    f"(?:{p.pattern})" for p in (SIGNATURE, ORIGINAL, NEXT_PART, RULE, GROUPSIO_FOOTER, OUTLOOK_FROM)
), re.IGNORECASE)
LIST_ITEM = re.compile(r"^\s*(?:[-*+\u2022]|\d+[.)])\s")
WRAPPED = 50
"""A line at least this long, followed by more text, was most likely wrapped by the mailer."""

Range = tuple[int, int]


def reflow(text: str) -> str:
    """``text`` with hard-wrapped paragraphs joined into one line each, so a sentence is not
    cut at the mailer's line width (answers quote whole sentences, and split at line ends).
    Quoted lines, list items, indented lines, short lines and the separators recognised
    below keep their own lines."""
    out: list[str] = []
    last = ""  # the previous physical line
    for line in text.split("\n"):
        if out and _wrapped(last, line):
            out[-1] = out[-1].rstrip() + " " + line.strip()
        else:
            out.append(line)
        last = line
    return "\n".join(out)


def _wrapped(previous: str, line: str) -> bool:
    if len(previous.strip()) < WRAPPED or not line.strip() or line[:1].isspace() or previous.rstrip().endswith(":"):
        return False
    if QUOTED.match(previous) or QUOTED.match(line) or LIST_ITEM.match(line):
        return False
    return not BOUNDARY.match(line) and not WROTE.search(previous)


def unembedded_ranges(text: str) -> tuple[Range, ...]:
    """``(start, end)`` character ranges of ``text`` that are not the sender's own words,
    sorted and merged; ``()`` when the whole text is their own."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    bare = [line.rstrip("\r\n") for line in lines]
    left_out = [False] * len(lines)
    tail = _tail_start(bare)
    for i in range(tail, len(lines)):
        left_out[i] = True
    _mark_quotes(bare, left_out)
    return _ranges(left_out, starts)


def _tail_start(lines: list[str]) -> int:
    """Index of the first line of the trailing part that is never the sender's own (a
    signature, footer or forwarded original), or ``len(lines)``."""
    for i, line in enumerate(lines):
        if SIGNATURE.match(line) or ORIGINAL.match(line) or NEXT_PART.match(line) or GROUPSIO_FOOTER.match(line):
            return i
        if RULE.match(line) and _followed_by(lines, i, LIST_HINT, 3):
            return i
        if RULE.match(line) and _followed_by(lines, i, OUTLOOK_FROM, 2):
            return i
        if OUTLOOK_FROM.match(line) and _followed_by(lines, i, OUTLOOK_SENT, 2) and _followed_by(
            lines, i, OUTLOOK_SUBJECT, 5
        ):
            return i
    return len(lines)


def _followed_by(lines: list[str], i: int, pattern: re.Pattern[str], within: int) -> bool:
    return any(pattern.search(line) for line in lines[i + 1 : i + 1 + within] if line.strip())


def _mark_quotes(lines: list[str], left_out: list[bool]) -> None:
    """Mark quoted lines, blank lines between quoted lines, and attributions above quotes."""
    last_quoted = -1
    for i, line in enumerate(lines):
        if not QUOTED.match(line):
            continue
        left_out[i] = True
        gap = range(last_quoted + 1, i)
        if last_quoted >= 0 and all(not lines[j].strip() for j in gap):
            for j in gap:
                left_out[j] = True
        else:
            _mark_attribution(lines, left_out, i)
        last_quoted = i


def _mark_attribution(lines: list[str], left_out: list[bool], quote_start: int) -> None:
    """Mark the attribution line(s) just above the quote starting at ``quote_start``."""
    above = quote_start - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    if above < 0 or not WROTE.search(lines[above]):
        return
    first = above
    if not OPENER.match(lines[above]) and above > 0 and OPENER.match(lines[above - 1]) and lines[above - 1].strip():
        first = above - 1  # "On Tue, 7 May 2024, Priya Natarajan <" / "priya@...> wrote:"
    for j in range(first, quote_start):
        left_out[j] = True


def _ranges(left_out: list[bool], starts: list[int]) -> tuple[Range, ...]:
    found: list[Range] = []
    for i, out in enumerate(left_out):
        if not out:
            continue
        if found and found[-1][1] == starts[i]:
            found[-1] = (found[-1][0], starts[i + 1])
        else:
            found.append((starts[i], starts[i + 1]))
    return tuple(found)
