"""gunicorn settings for the container (HuggingFace Spaces) and `make run`."""

import os
from typing import Any

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '7860')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# gthread with a per-connection read timeout (serving.py): a client that stalls mid-request
# is dropped after GUNICORN_READ_TIMEOUT seconds (default 10), and 32 threads per worker leave
# room for requests while a few dozen clients stall. Behind a buffering proxy, fewer will do.
worker_class = "serving.ThreadWorker"
threads = int(os.environ.get("GUNICORN_THREADS", "32"))
# Idle keep-alive connections wait in the worker's poller (no thread held) this long for the
# next request; gunicorn's 2 s default closed busy clients' connections between two requests on
# a loaded machine, and a request sent into that close is reset.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# A heartbeat file on tmpfs: a disk-backed /tmp can stall workers (gunicorn docs, "Blocking OS calls").
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
accesslog = "-"
errorlog = "-"
timeout = 120
graceful_timeout = 20
forwarded_allow_ips = "*"


def post_worker_init(worker: Any) -> None:
    """Migrate the Experiments database as each worker starts, not on its first request."""
    from blueprints.experiments.db import migrate

    with worker.wsgi.app_context():
        migrate()
