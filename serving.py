"""The gunicorn worker the container runs: gthread with a read timeout per connection.

gunicorn's ``gthread`` worker waits for a connection's first bytes without holding a thread,
but once a request has started it reads the rest of the headers and the body in a worker
thread with no timeout (``timeout`` only restarts workers that stop heart-beating, which
threads blocked on a socket never do). A client that sends half a request and then nothing
holds that thread for ever, and a few such clients starve the pool. This worker gives every
connection's socket a read timeout (``GUNICORN_READ_TIMEOUT`` seconds, default 10) once a
thread takes it, so a stalled request is dropped after that long; ``gunicorn.conf.py`` also
runs more threads than a handful of stalled clients can occupy. Behind a buffering proxy
(nginx, a load balancer) the proxy absorbs slow clients instead.

A connection that ends is also closed in its worker thread: gunicorn 27 closes it gracefully
(half-close, then up to 2 s waiting for the client's FIN) on the main loop, so 16 silent
clients timing out together held the loop, and every other request, for 30 s.
"""

from __future__ import annotations

import os
from typing import Any

from gunicorn.workers import gthread

READ_TIMEOUT = float(os.environ.get("GUNICORN_READ_TIMEOUT", "10"))
"""Seconds a request may pause between bytes (headers or body) before it is dropped."""


class ThreadWorker(gthread.ThreadWorker):
    """``gthread`` whose connections time out reads after ``READ_TIMEOUT`` seconds."""

    def handle(self, conn: Any) -> Any:
        if not getattr(conn, "read_timeout_set", False):
            init = conn.init

            def init_with_timeout() -> None:
                init()  # sets the socket blocking (and wraps TLS) the first time
                conn.sock.settimeout(READ_TIMEOUT)

            conn.init = init_with_timeout
            conn.read_timeout_set = True
        result = super().handle(conn)
        if result is False:  # the main loop would close it, lingering up to 2 s there
            conn.close(graceful=True)
            conn.close = _closed
        return result


def _closed(graceful: bool = False) -> None:
    """A closed connection's ``close``: nothing left to do."""
