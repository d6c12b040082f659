"""A stand-in for an agency's own website: where the payer lands after paying.

It runs on loopback (the browser may reach nothing else) on a different origin from the
hub, as a real agency site would be, so that cross-origin redirects, CSP form-action and
Referer policies are exercised exactly as in production. It records each request.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class AgencySite:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site.requests.append({"path": self.path, "referer": self.headers.get("Referer")})
                body = (
                    b"<!DOCTYPE html><html lang='en'><title>Agency</title>"
                    b"<h1>Back at the agency</h1>"
                )
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        # "localhost", not 127.0.0.1: another origin than the hub's live server.
        return f"http://localhost:{self._server.server_address[1]}"

    def start(self) -> AgencySite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
