"""One raw mail message (bytes) to a :class:`Mail`: the fields threading and posts need.

Parsed with ``email.parser.BytesParser(policy=email.policy.default)``; header values are read
raw and decoded here (RFC 2047 encoded words, folded lines, 8-bit bytes as UTF-8 or else
Windows-1252) so one malformed header cannot sink the message. The body is the ``text/plain``
part, else the ``text/html`` part converted to text. Dates: RFC 5322, else a lenient
python-dateutil parse, else the date on the ``From_`` line, else None. Addresses written
``user at host`` (pipermail's obfuscation) become ``user@host``, lower-cased.
"""

from __future__ import annotations

import email.policy
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import parseaddr, parsedate_to_datetime

from dateutil import parser as dateparser

from ingest.sources.mail_html import html_to_text
from ingest.sources.mail_quotes import Range, reflow, unembedded_ranges
from ingest.sources.mail_stream import RawMessage

MSG_ID = re.compile(r"<([^<>\s]+)>")
AT_OBFUSCATED = re.compile(r"([\w.+'-]+) at ([\w-]+(?:\.[\w-]+)+)")
FOLD = re.compile(r"\r?\n[ \t]+")
ASCTIME = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun),? +\w{3} +\d{1,2} +\d{1,2}:\d{2}(:\d{2})? +(\S+ +)?\d{4}")
RFC_DATE = re.compile(r"^\s*(?:[A-Za-z]{3},?\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}")
SURROGATE = re.compile("[\udc80-\udcff]")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
NO_DATE = datetime(1, 1, 1)
PARSER = BytesParser(policy=email.policy.default)


@dataclass(frozen=True)
class Mail:
    """A message reduced to what threads and posts need.

    ``ancestors`` are the ids it answers, oldest first (``References`` then
    ``In-Reply-To``); ``message_id`` is synthesised from the content when the header is
    missing (stable across re-ingests). ``where`` is ``file:line``.
    """

    where: str
    message_id: str
    ancestors: tuple[str, ...]
    subject: str
    address: str
    name: str
    date: datetime | None
    text: str
    unembedded: tuple[Range, ...]
    list_id: str


def parse_mail(raw: RawMessage, where: str) -> Mail:
    """The :class:`Mail` of ``raw`` (whose ``data`` must not be None).

    Raises:
        ValueError: the message has neither headers nor a body worth keeping.
    """
    msg = PARSER.parsebytes(raw.data or b"")
    subject = header(msg, "subject")
    address, name = sender(header(msg, "from") or _separator_sender(raw.separator))
    date = parse_date(header(msg, "date")) or parse_date(_separator_date(raw.separator))
    text = reflow(clean_body(body_text(msg)))
    if not (text.strip() or subject or address):
        raise ValueError("an empty message (no sender, subject or text)")
    ancestors = tuple(MSG_ID.findall(header(msg, "references")))
    replied = MSG_ID.findall(header(msg, "in-reply-to"))
    if replied and replied[0] not in ancestors:
        ancestors += (replied[0],)
    message_id = _message_id(header(msg, "message-id")) or synthetic_id(address, date, subject, text)
    ancestors = tuple(a for a in dict.fromkeys(ancestors) if a != message_id)
    return Mail(
        where=where, message_id=message_id, ancestors=ancestors, subject=subject, address=address, name=name,
        date=date, text=text, unembedded=unembedded_ranges(text), list_id=list_name(header(msg, "list-id")),
    )


def header(msg: Message, name: str) -> str:
    """The first ``name`` header (any letter case), unfolded and decoded, or ""."""
    raw = next((value for key, value in msg.raw_items() if key.lower() == name), None)
    if raw is None:
        return ""
    value = FOLD.sub(" ", str(raw)).strip()
    try:
        value = str(make_header(decode_header(value)))
    except (LookupError, UnicodeError, ValueError, AssertionError, TypeError):
        pass  # an unknown charset or a broken encoded word: keep the raw text
    return clean(value).strip()


def clean(text: str) -> str:
    """``text`` with stray 8-bit bytes (kept by the parser as surrogates) decoded as UTF-8,
    else Windows-1252, and control characters other than tab and newline removed."""
    if SURROGATE.search(text):
        data = text.encode("utf-8", "surrogateescape")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
    return CONTROL.sub("", text.encode("utf-8", "replace").decode("utf-8"))


def sender(value: str) -> tuple[str, str]:
    """``(lower-cased address, display name)`` of a From header; pipermail's
    ``user at host (Name)`` is read as ``user@host``."""
    if "@" not in value:
        value = AT_OBFUSCATED.sub(r"\1@\2", value)
    name, address = parseaddr(value)
    address = address.strip().lower()
    if "@" not in address:
        return "", (name or value).strip()
    return address, name.strip().strip('"').strip()


def parse_date(value: str) -> datetime | None:
    """An aware UTC datetime from an RFC 5322 date, or from anything python-dateutil reads
    (naive dates taken as UTC); None when there is no date in ``value``."""
    if not value.strip():
        return None
    try:
        if not RFC_DATE.match(value):
            raise ValueError("not an RFC 5322 date")  # email.utils would half-read it (PM lost)
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        try:
            moment = dateparser.parse(value, fuzzy=True, default=NO_DATE)
        except Exception:  # noqa: BLE001 - any text may come here; no date is the answer
            return None
        if moment.year == NO_DATE.year:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def body_text(msg: EmailMessage | Message) -> str:
    """The text/plain part of ``msg``, else its text/html part as text, else ""."""
    part: Message | None
    try:
        part = msg.get_body(preferencelist=("plain", "html")) if isinstance(msg, EmailMessage) else None
    except (KeyError, ValueError, TypeError, AttributeError):
        part = None
    if part is None and not msg.is_multipart() and msg.get_content_maintype() in ("text", "multipart"):
        part = msg  # no usable MIME structure (e.g. a multipart without boundary): its text as it is
    if part is None:
        return ""
    text = decode_part(part)
    return html_to_text(text) if part.get_content_subtype() == "html" else text


def decode_part(part: Message) -> str:
    """A text part's content: transfer encoding undone, then its declared charset, else
    UTF-8, else Windows-1252."""
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else str(payload or "").encode("utf-8", "surrogateescape")
    for charset in (part.get_content_charset(), "utf-8"):
        if charset:
            try:
                return data.decode(charset)
            except (LookupError, UnicodeDecodeError):
                continue
    return data.decode("cp1252", errors="replace")


def clean_body(text: str) -> str:
    """Line ends as ``\\n``, control characters removed, trailing blank lines dropped."""
    text = clean(text.replace("\r\n", "\n").replace("\r", "\n"))
    return text.rstrip() + "\n" if text.strip() else ""


def list_name(list_id: str) -> str:
    """The list's short name from a ``List-Id`` header (``Talk <canopy-talk.lists.x>`` ->
    ``canopy-talk``), or ""."""
    found = MSG_ID.search(list_id)
    return found.group(1).split(".", 1)[0] if found else ""


def synthetic_id(address: str, date: datetime | None, subject: str, text: str) -> str:
    """A stable stand-in Message-ID for a message that has none."""
    key = "\n".join((address, date.isoformat() if date else "", subject, text[:2000]))
    return f"{hashlib.blake2b(key.encode(), digest_size=10).hexdigest()}@no-message-id.invalid"


def _message_id(value: str) -> str:
    found = MSG_ID.search(value)
    if found:
        return found.group(1)
    token = value.strip().strip("<>")
    return token if "@" in token and " " not in token else ""


def _separator_text(separator: bytes) -> str:
    return clean(separator.decode("utf-8", "surrogateescape"))


def _separator_sender(separator: bytes) -> str:
    """The envelope sender on the ``From_`` line (used when there is no From header)."""
    text = _separator_text(separator)[5:]
    date = ASCTIME.search(text)
    return (text[: date.start()] if date else text).strip()


def _separator_date(separator: bytes) -> str:
    found = ASCTIME.search(_separator_text(separator))
    return found.group(0) if found else ""
