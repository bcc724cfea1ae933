"""gunicorn's settings for the gateway (`python -m gateway` passes them): JSON logs and multiprocess metrics.

Every line gunicorn and the app write is one JSON object (espace_common.observability.JsonFormatter):
gunicorn's own lines and the app's on stderr, the access lines on stdout with the request's id, method,
path, route, status and duration. The workers count their requests in PROMETHEUS_MULTIPROC_DIR, which
must be set before a worker imports prometheus_client: a temporary folder made here when it is unset,
emptied at start when it is set (files of a previous run would be added to this one's), and a dead
worker's files are marked so (child_exit).
"""
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from gunicorn.glogging import Logger

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_made_multiproc_dir = not os.environ.get(MULTIPROC_ENV)
try:
    if _made_multiproc_dir:
        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="espace-gateway-metrics-")
    elif not os.access(os.environ[MULTIPROC_ENV], os.W_OK):
        raise PermissionError(f"{os.environ[MULTIPROC_ENV]} is not a writable folder")
except OSError as exc:  # a read-only filesystem: one sentence, as for any wrong setting
    sys.exit(f"gateway cannot start: {MULTIPROC_ENV}: the metrics' folder cannot be used ({exc}); "
             "set it to a writable folder (an emptyDir volume in Kubernetes).")

from espace_common.observability import JsonFormatter, RequestIdFilter, json_handler  # noqa: E402


class JsonLogger(Logger):
    """gunicorn's logger with JSON lines: its own, the app's (root logger) and one access line per request."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if getattr(handler, "_gunicorn", False):
                    handler.setFormatter(JsonFormatter(service="gateway"))
                    handler.addFilter(RequestIdFilter())
        root = logging.getLogger()
        if not any(getattr(handler, "_espace_json", False) for handler in root.handlers):
            handler = json_handler(sys.stderr, service="gateway")
            handler._espace_json = True
            root.addHandler(handler)
        root.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        status = getattr(resp, "status_code", None)
        headers = dict((name.lower(), value) for name, value in (getattr(resp, "headers", None) or []))
        method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
        # The path without its query string: a query may carry a one-time token.
        self.access_log.info("%s %s %s", method, path, status, extra={
            "request_id": headers.get("x-request-id"),
            "method": method,
            "path": path,
            "route": environ.get("espace.route"),
            "status": status,
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "bytes": getattr(resp, "sent", None),
            "remote_addr": environ.get("REMOTE_ADDR"),
        })


logger_class = JsonLogger


def on_starting(server):
    if not _made_multiproc_dir:
        for stale in Path(os.environ[MULTIPROC_ENV]).glob("*.db"):
            stale.unlink(missing_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _made_multiproc_dir:
        shutil.rmtree(os.environ[MULTIPROC_ENV], ignore_errors=True)
