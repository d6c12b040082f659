"""Which parser a statement file needs, judged from its content (never its file name)."""

import os
from collections.abc import Iterator

from .camt053 import camt053_format, iter_camt053, parse_camt053
from .errors import StatementError
from .model import Statement
from .mt940 import iter_mt940, looks_like_mt940, parse_mt940
from .sources import Source, open_source, peek

_BLANK = b"\xef\xbb\xbf \t\r\n"  # a UTF-8 byte order mark and whitespace


def detect_format(head: bytes) -> str:
    """The format of a file from its first few KB: "camt.053.001.NN" or "mt940".

    Raises StatementError for anything else.
    """
    if head.lstrip(_BLANK).startswith(b"<"):
        return camt053_format(head)
    if looks_like_mt940(head):
        return "mt940"
    raise StatementError("unrecognised statement format")


def parse_statement(source: Source) -> Statement:
    """Detect the format of ``source`` (a path or a binary file) and parse its statement."""
    head, source = _head(source)
    if detect_format(head) == "mt940":
        return parse_mt940(source)
    return parse_camt053(source)


def iter_statements(source: Source) -> Iterator[Statement]:
    """Detect the format of ``source`` and yield each statement it holds."""
    head, source = _head(source)
    if detect_format(head) == "mt940":
        return iter_mt940(source)
    return iter_camt053(source)


def _head(source: Source) -> tuple[bytes, Source]:
    if isinstance(source, str | os.PathLike):
        # The parser opens the path again itself: it must own the file for as long as
        # the lazy entries are being read.
        with open_source(source) as stream:
            return peek(stream)[0], source
    return peek(source)
