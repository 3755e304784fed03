"""Mailing-list archives: mbox files, pipermail monthly archives, Groups.io zips."""

from __future__ import annotations

import gzip
import shutil
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.chunking import Chunker, kept_ranges
from ingest.discover import discover
from ingest.pipeline import ingest
from ingest.sources import LOADERS, loader_for
from ingest.sources.base import Account, Record, Report, SourceFile, ThreadPage
from ingest.sources.mail import MailArchiveLoader, MboxLoader
from ingest.sources.mail_parse import parse_mail
from ingest.sources.mail_quotes import reflow, unembedded_ranges
from ingest.sources.mail_stream import RawMessage, looks_like_mbox, split_messages
from ingest.sources.mail_threads import strip_subject
from ingest.validate import collect
from retrieval.index import IndexDir
from retrieval.records import Post, Thread
from tests.helpers import stored_chunk_bodies, stored_posts

SAMPLE = Path(__file__).resolve().parent.parent / "corpus" / "sample" / "exports" / "mail"
MONTHS = SAMPLE / "canopy-talk"
MEMBERS = Path(__file__).resolve().parent.parent / "corpus" / "sample" / "members.jsonl"

pytestmark = pytest.mark.unit


def own_text(post: Post) -> str:
    """What of a post gets embedded."""
    return "".join(post.text[a:b] for a, b in kept_ranges(len(post.text), post.unembedded))


def threads_of(records: list[Record]) -> dict[str, Thread]:
    return {r.thread.title: r.thread for r in records if isinstance(r, ThreadPage)}


def load_tree(path: Path, report: Report | None = None) -> list[Record]:
    return list(MailArchiveLoader().load(SourceFile(path, path.name), report or Report()))


def load_file(path: Path, report: Report | None = None, rel: str | None = None) -> list[Record]:
    return list(MboxLoader().load(SourceFile(path, rel or path.name), report or Report()))


# --- the sample export ---------------------------------------------------------------------


def test_a_pipermail_folder_is_one_source_and_threads_cross_months() -> None:
    [(source, loader)] = discover([SAMPLE], Report())
    assert loader.name == "mail-archive"
    report = Report()
    records = load_tree(SAMPLE, report)
    assert not report.errors, [str(p) for p in report.problems]
    threads = threads_of(records)
    straps = threads["Strapping rooftop hives before the June gales"]
    assert straps.id == "mail:CAPn7q2ZP1wRooftop@mail.canopy.example"
    assert straps.channel == "canopy-talk"
    assert [p.created_at.month for p in straps.posts if p.created_at] == [5, 5, 5, 6]
    assert straps.posts[-1].reply_to == "mail:AM9PR07MB7121E3@example.org"
    assert len(threads) == 7 and sum(len(t.posts) for t in threads.values()) == 19


def test_mail_without_message_id_joins_its_thread_by_subject() -> None:
    sugar = threads_of(load_tree(SAMPLE))["Bulk sugar order for autumn feeding"]
    authors = [p.author for p in sugar.posts]
    assert authors == ["mail:sigrid@example.org", "mail:priya@canopy.example",
                       "mail:joerg.brenner@post.example", "mail:sigrid@example.org"]
    joerg = sugar.posts[2]
    assert joerg.id.endswith("@no-message-id.invalid") and joerg.reply_to is None
    assert sugar.posts[1].reply_to == sugar.posts[0].id  # In-Reply-To without References


def test_senders_are_accounts_resolved_to_members_by_address() -> None:
    records = load_tree(SAMPLE)
    handles = [r.handles[0] for r in records if isinstance(r, Account)]
    accounts = {r.handles[0]: r.name for r in records if isinstance(r, Account)}
    assert accounts["joerg.brenner@post.example"] == "Jörg Brenner"  # RFC 2047, 8-bit From_ line
    assert accounts["lukas.meyer@example.net"] == "Lukas Meyer"  # "user at host" normalised
    assert handles.count("priya@canopy.example") == 1  # Priya@Canopy.Example is the same person
    members = list(LOADERS["members"].load(SourceFile(MEMBERS, "members.jsonl"), Report()))
    loaded = collect([("m", r) for r in [*members, *records]], Report(), [])
    authors = {p.author for t in loaded.threads for p in t.posts}
    assert authors == {"m03", "m09", "m14", "mail:joerg.brenner@post.example"}
    assert any(m.id == "mail:joerg.brenner@post.example" and m.name == "Jörg Brenner" for m in loaded.members)


def test_quotes_signatures_and_footers_are_kept_for_display_but_not_embedded() -> None:
    threads = threads_of(load_tree(SAMPLE))
    lukas = threads["Strapping rooftop hives before the June gales"].posts[1]
    assert "> What is everyone using" in lukas.text and "Eastfield allotment apiary" in lukas.text
    assert "What is everyone using" not in own_text(lukas) and "Eastfield" not in own_text(lukas)
    assert "ratchet strap" in own_text(lukas) and "wrote:" not in own_text(lukas)
    sigrid = threads["Strapping rooftop hives before the June gales"].posts[2]
    assert "carpet" in own_text(sigrid) and "Original Message" not in own_text(sigrid)
    moth = threads["Wax moth in stored supers"].posts
    assert "listinfo" in moth[0].text and "listinfo" not in own_text(moth[0])
    assert "schrieb" not in own_text(moth[1]) and "freeze each super" in own_text(moth[1])
    june = threads["Strapping rooftop hives before the June gales"].posts[3]
    assert "eye bolt" in own_text(june) and "scrubbed" not in own_text(june) and "buckles" not in own_text(june)


def test_dates_from_odd_headers_and_from_the_separator_line() -> None:
    threads = threads_of(load_tree(SAMPLE))
    moth_reply = threads["Wax moth in stored supers"].posts[1]
    assert moth_reply.created_at is not None and moth_reply.created_at.isoformat() == "2024-05-21T06:02:11+00:00"
    rota_reply = threads["Swarm call rota for June"].posts[1]  # no Date header at all
    assert rota_reply.created_at is not None and rota_reply.created_at.isoformat() == "2024-06-10T09:20:31+00:00"
    smoke = threads["Smoker fuel that does not flare"].posts[0]  # "Wednesday, June 12, 2024 6:40 PM"
    assert smoke.created_at is not None and (smoke.created_at.day, smoke.created_at.hour) == (12, 18)


def test_a_single_mbox_file_html_only_mail_encoded_words_and_odd_header_case() -> None:
    report = Report()
    records = load_file(SAMPLE / "hive-tools.mbox", report)
    assert not report.errors
    tools = threads_of(records)["Which hive tool for propolis-heavy frames?"]
    assert tools.channel == "hive-tools"  # from List-Id
    priya, joerg, lukas = tools.posts
    assert "<div" not in priya.text and "J-hook" in priya.text  # text/plain part preferred
    assert "<div" not in joerg.text and "spring steel" in own_text(joerg)  # HTML-only converted
    assert "glue everything" in joerg.text and "glue everything" not in own_text(joerg)  # blockquote
    assert lukas.reply_to == joerg.id and lukas.author == "mail:lukas.meyer@example.net"
    assert "Grüße" in lukas.text and "From the old tool drawer" in lukas.text  # QP + mboxrd >From


def test_pipermail_txt_is_sniffed_by_content_and_plain_text_is_not(tmp_path: Path) -> None:
    assert loader_for(SourceFile(MONTHS / "2024-May.txt", "2024-May.txt")) is LOADERS["mbox"]
    assert loader_for(SourceFile(MONTHS / "2024-June.txt.gz", "2024-June.txt.gz")) is LOADERS["mbox"]
    note = tmp_path / "note.txt"
    note.write_text("From the hive at dawn, 6:30 every day\nthe bees fly west.\n")
    assert loader_for(SourceFile(note, "note.txt")) is LOADERS["text"]
    assert not looks_like_mbox(b"\x1f\x8b garbage", "x.txt.gz")


def test_a_june_file_alone_names_its_threads_as_the_whole_archive_does() -> None:
    alone = threads_of(load_file(MONTHS / "2024-June.txt.gz"))
    whole = threads_of(load_tree(SAMPLE))
    assert alone["Strapping rooftop hives before the June gales"].id == whole[
        "Strapping rooftop hives before the June gales"].id
    assert alone["Strapping rooftop hives before the June gales"].channel == "canopy-talk"


# --- Groups.io, visibility, bad input -----------------------------------------------------


def test_a_groups_io_zip_is_read_through_its_messages_mbox(tmp_path: Path) -> None:
    archive = tmp_path / "canopy-groupsio.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(SAMPLE / "hive-tools.mbox", "messages.mbox")
        z.writestr("members.csv", "email,name\n")
    [(_, loader)] = discover([archive], Report())
    assert loader.name == "mail-archive"
    report = Report()
    threads = threads_of(load_tree(archive, report))
    warnings = [str(p) for p in report.warnings]
    assert len(threads) == 2 and "canopy-groupsio.zip:members.csv: not a mail archive; skipped" in warnings
    assert any("members-only" in w for w in warnings)  # no sidecar: public, but said so


def test_a_private_list_needs_a_sidecar_and_a_bad_sidecar_skips_it(tmp_path: Path) -> None:
    folder = tmp_path / "mentors-list"
    shutil.copytree(MONTHS, folder)
    (tmp_path / "mentors-list.meta.yaml").write_text("visibility: [mentors]\n")
    assert {t.visibility for t in threads_of(load_tree(folder)).values()} == {("mentors",)}
    assert {t.visibility for t in threads_of(load_file(folder / "2024-May.txt", rel="mentors-list/2024-May.txt"))
            .values()} == {("mentors",)}  # a month read on its own inherits its folder's sidecar
    assert {t.visibility for t in threads_of(load_file(folder / "2024-May.txt")).values()} == {("mentors",)}
    (tmp_path / "mentors-list.meta.yaml").write_text("visibility: [\n")
    report = Report()
    assert load_tree(folder, report) == [] and report.errors


def test_an_8bit_separator_ingests_and_a_non_mbox_fails_with_one_located_error(tmp_path: Path) -> None:
    raw = b"From j\xf6rg at x.example  Sun Jun  2 15:30:12 2024\nSubject: hi\nMessage-ID: <a@x>\n\nbody\n"
    assert [m.line for m in split_messages(raw.splitlines(keepends=True), 1000)] == [1]
    bad = tmp_path / "notes.mbox"
    bad.write_bytes(b"just some notes\nFrom here on, nothing\n")
    report = Report()
    assert not any(isinstance(r, ThreadPage) for r in load_file(bad, report))
    assert [str(p) for p in report.errors] == [
        "notes.mbox:1: not an mbox archive: line 1 comes before any 'From ' separator line; file skipped"]


def test_a_txt_gz_month_a_browser_already_decompressed_is_read_as_plain_text(tmp_path: Path) -> None:
    # pipermail serves months with Content-Encoding: gzip, so a saved 2024-June.txt.gz is often plain
    folder = tmp_path / "canopy-talk"
    folder.mkdir()
    shutil.copy(MONTHS / "2024-May.txt", folder / "2024-May.txt.gz")
    (folder / "2024-June.txt.gz").write_bytes((MONTHS / "2024-June.txt.gz").read_bytes())
    assert loader_for(SourceFile(folder / "2024-May.txt.gz", "2024-May.txt.gz")) is LOADERS["mbox"]
    [(_, loader)] = discover([folder], Report())
    assert loader.name == "mail-archive"
    report = Report()
    threads = threads_of(load_tree(folder, report))
    assert not report.errors, [str(p) for p in report.problems]
    straps = threads["Strapping rooftop hives before the June gales"]
    assert [p.created_at.month for p in straps.posts if p.created_at] == [5, 5, 5, 6]


def test_a_truncated_gzip_keeps_the_messages_before_the_break(tmp_path: Path) -> None:
    data = (MONTHS / "2024-June.txt.gz").read_bytes()
    cut = tmp_path / "2024-June.txt.gz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    report = Report()
    threads = threads_of(load_file(cut, report))
    assert threads and len(report.errors) == 1 and report.errors[0].where.startswith("2024-June.txt.gz:")


def test_an_oversized_message_is_skipped_with_its_line(tmp_path: Path) -> None:
    report = Report()
    path = MONTHS / "2024-May.txt"
    records = list(MboxLoader().load(SourceFile(path, "2024-May.txt", max_bytes=900), report))
    assert records and report.errors and all(p.where.startswith("2024-May.txt:") for p in report.errors)


def test_a_huge_line_without_an_end_is_read_in_pieces(tmp_path: Path) -> None:
    path = tmp_path / "long.mbox"
    path.write_bytes(b"From a  Mon May  6 08:14:02 2024\nSubject: x\n\n" + b"y" * 3_000_000)
    report = Report()
    list(MboxLoader().load(SourceFile(path, "long.mbox", max_bytes=1_000_000), report))
    assert [str(p) for p in report.errors] == ["long.mbox:1: message larger than 1000000 bytes; skipped"]


def test_forcing_the_archive_loader_on_a_plain_file_is_one_clean_error() -> None:
    report = Report()
    assert list(LOADERS["mail-archive"].load(SourceFile(SAMPLE / "hive-tools.mbox", "hive-tools.mbox"), report)) == []
    assert [p.where for p in report.errors] == ["hive-tools.mbox"]


# --- the pieces ---------------------------------------------------------------------------


def test_subject_prefixes_and_list_tags_are_stripped() -> None:
    assert strip_subject("Re: [canopy-talk] AW: Fwd: Swarm") == ("Swarm", True)
    assert strip_subject("[canopy-talk] Re: SV: RE[2]: Swarm") == ("Swarm", True)
    assert strip_subject("[canopy-talk] Swarm  season") == ("Swarm season", False)


@pytest.mark.parametrize(
    ("body", "own"),
    [
        ("Yes.\n\nOn Tue, 7 May 2024 at 10:00, Priya <\npriya@x.example> wrote:\n> a\n>\n> b\n", "Yes.\n\n"),
        ("Ja.\n\nAm 07.05.2024 um 10:00 schrieb Lukas:\n> a\n", "Ja.\n\n"),
        ("Oui.\n\nLe mar. 7 mai 2024 à 10:00, Priya a écrit :\n> a\n", "Oui.\n\n"),
        ("> q1\nA1\n> q2\nA2\n", "A1\nA2\n"),
        ("Top.\n\n________________________________\nFrom: Priya\nSent: Tuesday\nSubject: x\n\nold\n", "Top.\n\n"),
        ("Top.\nFrom: Priya <p@x>\nSent: Tuesday\nTo: list\nSubject: x\nold\n", "Top.\n"),
        ("Mine.\n-- \nSig\n", "Mine.\n"),
        ("Mine.\n-=-=-=-=-=-=-=-=-=-=-=-\nGroups.io Links: ...\n", "Mine.\n"),
        ("Mine.\n____________________\nnot a footer\n", "Mine.\n____________________\nnot a footer\n"),
    ],
)
def test_own_words_are_told_apart_from_quotes_and_trailers(body: str, own: str) -> None:
    assert "".join(body[a:b] for a, b in kept_ranges(len(body), unembedded_ranges(body))) == own


def test_hard_wrapped_paragraphs_are_reflowed_but_quotes_lists_and_signatures_keep_their_lines() -> None:
    wrapped = (
        "Keep the reduced entrance until the robbing has stopped for a full\n"
        "week, and do not feed them meanwhile.\n"
        "Things to bring to the apiary when you go there next time:\n"
        "- a wet sheet\n"
        "> quoted text that is long enough to have been wrapped by the mailer\n"
        "> second quoted line\n"
        "Short line\n"
        "next line\n"
        "-- \n"
        "Lukas\n"
    )
    assert reflow(wrapped) == wrapped.replace("a full\nweek", "a full week")


def test_chunks_of_a_post_leave_out_its_unembedded_ranges_and_index_its_text() -> None:
    text = "Use a strap.\n> quoted words here\nTie it down.\n-- \nLukas\n"
    post = Post("p", "t", "a", None, text, unembedded=unembedded_ranges(text))
    thread = Thread("t", "mail", "list", "Straps", (post,))
    chunks = Chunker(lambda s: len(s.split()), 64).chunks(thread)
    assert [c.body for c in chunks] == ["Use a strap.", "Tie it down."]
    assert all(text[c.start : c.end] == c.body for c in chunks)


def test_headers_with_broken_encodings_still_give_a_mail() -> None:
    raw = RawMessage(1, b"From x  Mon May  6 08:14:02 2024", (
        b"FROM: =?bogus-charset?q?Bad?= <Bad@X.example>\nSUBJECT: =?utf-8?q?broken_=ZZ?=\n"
        b"Date: the day after tomorrow\nReferences: <a@x> junk <b@x>\nContent-Type: text/plain; charset=nope\n\n"
        b"caf\xe9 au lait\n"))
    mail = parse_mail(raw, "f:1")
    assert mail.address == "bad@x.example" and mail.ancestors == ("a@x", "b@x")
    assert mail.date is not None and mail.date.year == 2024  # from the From_ line
    assert "café" in mail.text


# --- mangled input never escapes as an exception ------------------------------------------


SAMPLE_BYTES = (MONTHS / "2024-May.txt").read_bytes() + gzip.decompress((MONTHS / "2024-June.txt.gz").read_bytes())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cut=st.integers(0, len(SAMPLE_BYTES)),
    noise=st.binary(max_size=200),
    at=st.integers(0, len(SAMPLE_BYTES)),
    swap=st.sampled_from([b"", b"Message-ID:", b"References:", b"Content-Type: multipart/mixed\n", b"From \xff\xfe "]),
)
def test_mangled_archives_give_clean_reports(tmp_path: Path, cut: int, noise: bytes, at: int, swap: bytes) -> None:
    data = SAMPLE_BYTES[:cut]
    data = data[:at] + noise + swap + data[at:]
    for name in ("x.mbox", "x.txt.gz"):
        path = tmp_path / name
        path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
        report = Report()
        records = list(MboxLoader().load(SourceFile(path, name), report))
        assert all(isinstance(r, Account | ThreadPage) for r in records)
        assert all(p.where.startswith(name) for p in report.problems)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(max_size=2000))
def test_random_bytes_named_like_archives_never_raise(tmp_path: Path, blob: bytes) -> None:
    for name in ("r.mbox", "r.txt.gz"):
        path = tmp_path / name
        path.write_bytes(b"From a  Mon May  6 08:14:02 2024\n" + blob if name == "r.mbox" else blob)
        list(MboxLoader().load(SourceFile(path, name), Report()))
    archive = tmp_path / "r.zip"
    archive.write_bytes(b"PK\x03\x04" + blob)
    if MailArchiveLoader().matches(SourceFile(archive, "r.zip")):
        list(MailArchiveLoader().load(SourceFile(archive, "r.zip"), Report()))


# --- through the pipeline -----------------------------------------------------------------


@pytest.mark.integration
def test_ingest_then_a_new_month_embeds_only_the_new_message(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "lists"
    shutil.copytree(SAMPLE, corpus / "mail")
    shutil.copy(MEMBERS, corpus / "members.jsonl")
    index_dir = IndexDir(tmp_path / "ix")
    first = ingest([corpus], index_dir, embedder)
    assert first.errors == 0, [str(p) for p in first.problems]
    snapshot = index_dir.open()
    assert snapshot.manifest.counts["threads"] == 7
    authors = {p.author for p in stored_posts(snapshot)}
    assert authors == {"m03", "m09", "m14", "mail:joerg.brenner@post.example"}
    bodies = " ".join(stored_chunk_bodies(snapshot))
    assert "listinfo" not in bodies and "> What is everyone" not in bodies
    snapshot.close()
    assert ingest([corpus], index_dir, embedder).chunks_embedded == 0
    (corpus / "mail" / "canopy-talk" / "2024-July.txt").write_bytes(
        b"From sigrid at example.org  Mon Jul  1 08:00:00 2024\n"
        b"From: sigrid at example.org (Sigrid Halvorsen)\nDate: Mon, 1 Jul 2024 10:00:00 +0200\n"
        b"Subject: Re: [canopy-talk] Swarm call rota for June\n"
        b"References: <20240610055802.GC4102@example.net>\nMessage-ID: <July01@example.org>\n\n"
        b"The rota worked well; July is quieter, so one person per weekend will do.\n\n"
        b"> Reply to the list with the days you can take.\n"
    )
    third = ingest([corpus], index_dir, embedder)
    assert (third.chunks_embedded, third.documents_changed, third.documents_new) == (1, 1, 0)


@pytest.mark.integration
def test_a_message_regrouped_by_a_later_month_moves_threads_without_breaking_the_ingest(
    tmp_path: Path, embedder  # type: ignore[no-untyped-def]
) -> None:
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "june.mbox").write_bytes(
        b"From a@x.example  Mon Jun  3 10:00:00 2024\nFrom: a@x.example\nSubject: Re: hives\n"
        b"In-Reply-To: <P@x>\nMessage-ID: <M@x>\n\nThe strap is tied down to an eye bolt.\n"
    )
    index_dir = IndexDir(tmp_path / "ix")
    ingest([lists], index_dir, embedder)  # M's parent P is unknown: M's thread is named after P
    (lists / "may.mbox").write_bytes(
        b"From b@x.example  Mon May  6 10:00:00 2024\nFrom: b@x.example\nSubject: Re: hives\n"
        b"In-Reply-To: <Q@x>\nMessage-ID: <P@x>\n\nUse a ratchet strap on roof hives.\n"
    )
    second = ingest([lists], index_dir, embedder)  # now P is known and answers Q: M moves to mail:Q@x
    assert second.errors == 0 and any("moved from thread 'mail:P@x'" in str(p) for p in second.problems)
    snapshot = index_dir.open()
    assert [p.doc_id for p in sorted(stored_posts(snapshot), key=lambda p: p.id)] == ["mail:Q@x", "mail:Q@x"]
