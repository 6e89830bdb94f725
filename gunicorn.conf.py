"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py` (what `make prod` and the Procfile run).

Sized from the CPUs this process may use: (2 x CPUs + 1) worker processes of 4 threads each, as
gunicorn's docs suggest for a mostly-waiting app (chat webhooks answer from the database and queue
the rest). Each thread may hold a database connection, so workers x threads x machines must stay below
PostgreSQL's `max_connections`; WEB_CONCURRENCY and GUNICORN_THREADS override the sizing.
"""

import os
import tempfile

cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

wsgi_app = "chatops_site.wsgi:application"
bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * cpus + 1)
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
worker_class = "gthread"
# Slack and Discord give up after 3 seconds; a request still running after 30 is stuck.
timeout = 30
graceful_timeout = 30
keepalive = 5
# Our own middleware logs each request (JSON with its request id); gunicorn logs only its own news.
accesslog = None
errorlog = "-"
# The control socket's default path is one per user account: a second gunicorn on the machine (a second
# stack, a benchmark) would take it over. Nothing here uses `gunicornc`.
control_socket_disable = True

# Every worker writes its metrics into this directory and /metrics adds them up (prometheus-client's
# multiprocess mode). It must be set before the app is imported, hence here; qclusters on the same
# machine should get the same value so their deployment counters show up too.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), "chatops-metrics"))
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)


def post_fork(server, worker):
    """Each worker traces for itself (chatops_site/tracing.py): its own exporter thread, its own pid."""
    from chatops_site import tracing

    tracing.setup()


def worker_exit(server, worker):
    """A worker's spans still waiting in the batch leave before it does."""
    from chatops_site import tracing

    tracing.shutdown()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_starting(server):
    """Before any worker boots: refuse a secret key anyone can read (chatops_site/ops/production.py)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatops_site.settings")
    from chatops_site.ops.production import unsafe_secret_key

    if problem := unsafe_secret_key():
        raise RuntimeError(problem)  # gunicorn prints it and exits 1
