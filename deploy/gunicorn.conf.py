"""gunicorn settings for the web containers (`gunicorn -c deploy/gunicorn.conf.py`).

Every value can be changed from the environment; the defaults suit one container of 2 CPUs.
"""

import multiprocessing
import os
import shutil

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
# Threaded workers keep client connections alive (sync workers close each one) and overlap
# one request's database wait with another's Python: 1.2-1.3x the requests of sync workers
# on a dossier detail or list, 2 threads about as fast as 4 with a lower p99
# (bench/README.md). Each thread holds its own persistent database connection.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
# A request gets this long (the sync margin in settings assumes at most 30 s), then the
# worker is replaced; a restart lets requests in flight finish within graceful_timeout.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# The longest request line gunicorn takes (its own default is 4 KB): a phone's sync URL with
# `?fields=` and a cursor stays far below it; beyond it the web server answers 414 itself.
limit_request_line = 8190
# Workers are recycled after about this many requests (slow leaks cannot pile up); the
# jitter keeps them from all restarting at the same moment.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "200"))
# X-Forwarded-Proto/-For are believed from the same proxies as the app's TRUSTED_PROXIES.
forwarded_allow_ips = (
    ",".join(
        item.strip() for item in os.environ.get("TRUSTED_PROXIES", "").split(",") if item.strip()
    )
    or "127.0.0.1"
)
# The app writes one JSON line per request (common.request_id); no second access log.
# The master imports Django once and forks ready workers: a recycled worker starts in
# milliseconds instead of a second of CPU taken from the running ones, and the code's memory is
# shared between workers. Nothing opens a database connection at import (connections open
# per thread on first use, after the fork). GUNICORN_PRELOAD=false for a reload on HUP.
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").lower() in ("1", "true", "yes")
accesslog = None
errorlog = "-"
# Heartbeat files in memory, not on a container's overlay disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108  # nosec B108
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def on_starting(server):  # type: ignore[no-untyped-def]
    """Counters of a previous run must not be summed into this one."""
    if _metrics_dir:
        shutil.rmtree(_metrics_dir, ignore_errors=True)
        os.makedirs(_metrics_dir, exist_ok=True)


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    """A recycled worker's live gauges leave the sums; its counters stay counted."""
    if _metrics_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
