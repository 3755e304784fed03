"""Streaming the ``<row .../>`` elements of a Stack Exchange dump file.

Every dump file (Posts.xml, Users.xml, Comments.xml, PostLinks.xml, Tags.xml) is one root
element holding ``<row>`` elements whose attributes are the record. The file is read piece by
piece with defusedxml's ``iterparse`` and each row is dropped once yielded, so memory stays flat
whatever the size. A UTF-8 byte-order mark and a DOCTYPE line are accepted; entity
declarations and external references are refused (nothing is ever fetched), and so is
anything that is not well-formed: rows before the fault are kept, and one error names the file
and line.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Iterator
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from ingest.sources.base import Report
from ingest.sources.tree import Tree

log = logging.getLogger(__name__)

Row = dict[str, str]


def iter_rows(tree: Tree, name: str, report: Report) -> Iterator[Row]:
    """Yield the attributes of each ``<row>`` in ``name`` (a file of ``tree``), in file order.

    Problems are reported as ``label:name[:line]``; the rows read before a fault have been
    yielded already and the rest of the file is skipped. Never raises for bad content.
    """
    where = f"{tree.label}:{name}"
    rows = 0
    try:
        with tree.open(name) as stream:
            root: Element | None = None
            for event, element in iterparse(stream, events=("start", "end")):
                if root is None:
                    root = element
                elif event == "end" and element.tag == "row":
                    rows += 1
                    yield dict(element.attrib)
                    root.clear()  # drop rows already yielded: memory stays flat
    except ParseError as e:
        line = e.position[0] if getattr(e, "position", None) else 0
        report.error(f"{where}:{line}", f"not well-formed XML ({_reason(e)}); the {rows} rows before it are kept")
    except DefusedXmlException as e:
        report.error(where, f"refused: {e} (entities and external references are never resolved)")
    except (OSError, zipfile.BadZipFile, EOFError, ValueError) as e:
        report.error(where, f"could not be read ({type(e).__name__}: {e}); the {rows} rows before it are kept")


def _reason(error: ParseError) -> str:
    """The parser's message without its own ``line N, column M`` suffix (the line is in ``where``)."""
    return str(error).split(":", 1)[0]
