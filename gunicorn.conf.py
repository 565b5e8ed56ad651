"""Gunicorn settings for teleopd's web processes (Procfile: gunicorn -c gunicorn.conf.py).

The Prometheus bookkeeping, and the web chat's share of a worker's threads, live here;
workers, threads, bind and the app come from the command line. With PROMETHEUS_MULTIPROC_DIR set (by the start script, before gunicorn: it must be in
the environment before prometheus_client is imported), each process keeps its counters in
files there and GET /metrics adds them up (https://prometheus.github.io/client_python/multiprocess/).
"""

from __future__ import annotations

import glob as _glob
import os as _os


def _pid_alive(pid: int) -> bool:
    try:
        _os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def on_starting(server):  # type: ignore[no-untyped-def]
    """Make the metrics directory, and clear the files of processes that have gone.

    prometheus_client asks for the directory to be wiped between runs. A `teleopd worker`
    sharing it on this host may still be running: its files (named <kind>_<pid>.db) stay.
    """
    path = _os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        return
    _os.makedirs(path, exist_ok=True)
    for name in _glob.glob(_os.path.join(path, "*_*.db")):
        pid = _os.path.basename(name).rsplit("_", 1)[-1].removesuffix(".db")
        if pid.isdigit() and not _pid_alive(int(pid)):
            _os.remove(name)


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    """Tell prometheus_client a web process is gone (its live gauges go; its counts stay)."""
    if _os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):  # type: ignore[no-untyped-def]
    """Let the web chat hold at most half a worker's threads in long polls.

    The other half answer webhooks (Twilio gives up after 15 s) and /healthz. A sync worker
    (one thread) holds none: the app answers its long polls at once anyway.
    """
    from webhooks.webchat import limit_long_polls

    limit_long_polls(worker.wsgi, worker.cfg.threads)
