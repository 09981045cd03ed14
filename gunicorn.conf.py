"""gunicorn settings for the container (HuggingFace Spaces) and `make run`."""

import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '7860')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A heartbeat file on tmpfs: a disk-backed /tmp can stall workers (gunicorn docs, "Blocking OS calls").
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
accesslog = "-"
errorlog = "-"
timeout = 120
graceful_timeout = 20
forwarded_allow_ips = "*"


def post_worker_init(worker):
    """Open the Experiments store as each worker starts, so its migrations run at start-up."""
    from blueprints.experiments.auth import store

    with worker.wsgi.app_context():
        store()
