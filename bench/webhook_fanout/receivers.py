"""Local webhook receivers for the fan-out benchmark: one process per receiver.

Each receiver is a ``ThreadingHTTPServer`` (HTTP/1.1 keep-alive, one thread per
connection) that verifies every request with the ``standardwebhooks`` package from
PyPI, like an agency system would, and answers 200 only when the signature verifies.
It runs in its own process so that its CPU time does not share a GIL with the sender
being measured (the Celery worker or the baseline loop).

The parent talks to a receiver through a pipe:

    parent                      receiver
    ------                      --------
                                binds 127.0.0.1:0, sends its port
    sends the endpoint secret
                                serves; counts verified requests in a shared counter
    "report"                    sends [(webhook-id, monotonic receipt time), ...],
                                the number of connections opened and of failures
    "stop"                      shuts down

Receipt times are ``time.monotonic()``: on Linux that clock (CLOCK_MONOTONIC) is
system-wide, so the parent can subtract its own publish times from them.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Report:
    receipts: list[tuple[str, float]]  # (webhook-id, receipt time), verified only
    connections: int
    rejected: int


def _serve(conn, counter) -> None:
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    receipts: list[tuple[str, float]] = []
    state = {"connections": 0, "rejected": 0}
    lock = threading.Lock()
    verifier: list[Webhook] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Header and body are two writes; without TCP_NODELAY the second waits for
        # the client's delayed ACK (40 ms per request on Linux loopback).
        disable_nagle_algorithm = True

        def setup(self):
            super().setup()
            with lock:
                state["connections"] += 1

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                verifier[0].verify(body, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
            received_at = time.monotonic()
            if verified:
                with lock:
                    receipts.append((headers["webhook-id"], received_at))
                with counter.get_lock():
                    counter.value += 1
            else:
                with lock:
                    state["rejected"] += 1
            reply = b"ok" if verified else b"bad signature"
            self.send_response(200 if verified else 401)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    conn.send(server.server_address[1])
    first = conn.recv()
    if first == "stop":  # the parent failed before it had a secret for us
        server.server_close()
        return
    verifier.append(Webhook(first))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    while True:
        try:
            command = conn.recv()
        except EOFError:  # the parent is gone
            break
        if command == "report":
            with lock:
                conn.send(Report(list(receipts), state["connections"], state["rejected"]))
        elif command == "stop":
            break
    server.shutdown()
    server.server_close()


class ReceiverProcess:
    """The parent's handle on one receiver process."""

    def __init__(self, context) -> None:
        self.counter = context.Value("q", 0)
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(target=_serve, args=(child_conn, self.counter), daemon=True)
        self.process.start()
        child_conn.close()
        self.port: int = self.conn.recv()
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.secret: str | None = None

    def set_secret(self, secret: str) -> None:
        self.secret = secret
        self.conn.send(secret)

    @property
    def verified(self) -> int:
        return self.counter.value

    def report(self) -> Report:
        self.conn.send("report")
        return self.conn.recv()

    def stop(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(BrokenPipeError, OSError):
                self.conn.send("stop")
            self.process.join(5)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)


def start_receivers(count: int) -> list[ReceiverProcess]:
    """Fork ``count`` receivers. Call before Django opens connections or starts threads."""
    context = multiprocessing.get_context("fork")
    return [ReceiverProcess(context) for _ in range(count)]
