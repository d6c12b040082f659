"""A small HTTP/1.1 load generator: fixed concurrency for a fixed time, standard library only.

One asyncio event loop, ``concurrency`` clients, each sending one request after another
(a closed loop, as wrk and hey do). A client keeps its connection while the server
allows it and reconnects when the server answers ``Connection: close`` (gunicorn's sync
workers close after every response). A request's latency runs from the moment the
client starts it (connecting first when it needs a new connection) to the last byte
of the response body.

A response that is not 2xx is an error; so is a connection that breaks mid-request.
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    label: str
    concurrency: int
    seconds: float
    latencies: list[float] = field(default_factory=list)  # seconds, 2xx responses only
    statuses: dict[int, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)  # broken connections, by kind
    connections: int = 0
    retries: int = 0  # requests re-sent because a kept-alive connection had closed
    client_cpu_seconds: float = 0.0
    samples: list[bytes] = field(default_factory=list)  # a few non-2xx bodies

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def errors(self) -> int:
        non_2xx = sum(n for status, n in self.statuses.items() if not 200 <= status < 300)
        return non_2xx + sum(self.failures.values())

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile of the 2xx latencies, in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
        return ordered[rank - 1] * 1000


class _Broken(Exception):
    pass


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    """(status, server keeps the connection, body) of one response."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        raise _Broken("no response") from exc
    status = int(head[9:12])
    lower = head.lower()
    keep = b"\r\nconnection: close" not in lower and not head.startswith(b"HTTP/1.0")
    marker = lower.find(b"\r\ncontent-length:")
    if marker >= 0:
        end = lower.index(b"\r\n", marker + 2)
        length = int(lower[marker + 17 : end])
        body = await reader.readexactly(length) if length else b""
    elif b"\r\ntransfer-encoding: chunked" in lower:
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            chunks.append(chunk[:-2])
        body = b"".join(chunks)
    else:
        body = await reader.read()
        keep = False
    return status, keep, body


async def _client(
    host: str,
    port: int,
    make_request: Callable[[], bytes],
    deadline: float,
    result: LoadResult,
) -> None:
    reader = writer = None
    while time.perf_counter() < deadline:
        request = make_request()
        started = time.perf_counter()
        reused = writer is not None
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
                result.connections += 1
            writer.write(request)
            status, keep, body = await _read_response(reader)
        except (_Broken, ConnectionError, OSError) as exc:
            if writer is not None:
                writer.close()
            reader = writer = None
            if reused and isinstance(exc, _Broken | ConnectionResetError | BrokenPipeError):
                # The server closed an idle kept-alive connection before reading this
                # request: nothing was processed. Send it again on a new connection.
                result.retries += 1
                continue
            kind = type(exc).__name__
            result.failures[kind] = result.failures.get(kind, 0) + 1
            continue
        elapsed = time.perf_counter() - started
        result.statuses[status] = result.statuses.get(status, 0) + 1
        if 200 <= status < 300:
            result.latencies.append(elapsed)
        elif len(result.samples) < 3:
            result.samples.append(body[:300])
        if not keep:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def _run(host, port, make_request, concurrency, duration, result) -> None:
    deadline = time.perf_counter() + duration
    await asyncio.gather(
        *(_client(host, port, make_request, deadline, result) for _ in range(concurrency))
    )


def run(
    label: str,
    *,
    host: str,
    port: int,
    make_request: Callable[[], bytes],
    concurrency: int,
    duration: float,
) -> LoadResult:
    """Drive ``concurrency`` closed-loop clients for ``duration`` seconds.

    Requests still in flight at the deadline are finished and counted; the rate is
    2xx responses over the time from the first request to the last response.
    """
    result = LoadResult(label, concurrency, 0.0)
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    asyncio.run(_run(host, port, make_request, concurrency, duration, result))
    result.seconds = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    result.client_cpu_seconds = (cpu_after.ru_utime - cpu_before.ru_utime) + (
        cpu_after.ru_stime - cpu_before.ru_stime
    )
    return result


def merge(results: list[LoadResult]) -> LoadResult:
    """Rounds of the same endpoint as one result: latencies pooled, time summed."""
    merged = LoadResult(results[0].label, results[0].concurrency, 0.0)
    for result in results:
        merged.seconds += result.seconds
        merged.latencies += result.latencies
        for status, n in result.statuses.items():
            merged.statuses[status] = merged.statuses.get(status, 0) + n
        for kind, n in result.failures.items():
            merged.failures[kind] = merged.failures.get(kind, 0) + n
        merged.connections += result.connections
        merged.retries += result.retries
        merged.client_cpu_seconds += result.client_cpu_seconds
        merged.samples += result.samples[: 3 - len(merged.samples)]
    return merged


def http_request(
    method: str, path: str, *, host: str, headers: dict[str, str], body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method in {"POST", "PUT", "PATCH"}:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
