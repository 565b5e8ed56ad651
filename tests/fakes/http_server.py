"""The HTTP server under every fake provider: threads, and room for a worker's burst of connections."""

from __future__ import annotations

from http.server import ThreadingHTTPServer


class FakeProviderServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that takes connections as a provider's API does."""

    daemon_threads = True
    # socketserver listens with a backlog of 5: the worker's 32 threads a lane connecting at
    # once overflowed it, and a connection was refused where the real API would take it.
    request_queue_size = 128
