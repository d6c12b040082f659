"""Opening what the parsers are given: a path, or a binary file object (upload, pipe)."""

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

Source = str | os.PathLike[str] | BinaryIO

# Enough to get past an XML declaration, comments and the root start tag, or past a
# SWIFT envelope to the :20: and :25: tags.
HEAD_SIZE = 64 * 1024


@contextmanager
def open_source(source: Source) -> Iterator[BinaryIO]:
    """A binary stream for a path (opened and closed here) or a caller's binary file."""
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as stream:
            yield stream
    elif hasattr(source, "read"):
        yield source
    else:
        raise TypeError(f"expected a path or a binary file object, not {type(source).__name__}")


def read_all(stream: BinaryIO) -> bytes:
    data = stream.read()
    _require_bytes(data)
    return data


def peek(stream: BinaryIO, size: int = HEAD_SIZE) -> tuple[bytes, BinaryIO]:
    """The first ``size`` bytes, and a stream that still starts at them."""
    start = stream.tell() if stream.seekable() else None
    chunks: list[bytes] = []
    wanted = size
    while wanted > 0:
        chunk = stream.read(wanted)
        _require_bytes(chunk)
        if not chunk:
            break
        chunks.append(chunk)
        wanted -= len(chunk)
    head = b"".join(chunks)
    if start is not None:
        stream.seek(start)
        return head, stream
    return head, _Replay(head, stream)


def _require_bytes(data: object) -> None:
    if not isinstance(data, bytes | bytearray):
        raise TypeError("statement files must be opened in binary mode ('rb')")


class _Replay(io.RawIOBase):
    """A stream that cannot seek, with its already-read head put back in front."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
