"""`python -m gateway`: check the settings, then hand over to gunicorn (gthread workers)."""
import os
import sys
from pathlib import Path

from espace_common.amqp import check_broker
from espace_common.config import ConfigError

from .principals import principals_from_settings
from .settings import load_settings


def main():
    try:
        settings = load_settings()
        principals_from_settings(settings, listen=False)  # a wrong cache setting stops here, in one sentence
        check_broker(settings["AMQP_URI"])
    except ConfigError as exc:
        print(f"gateway cannot start: {exc}", file=sys.stderr)
        sys.exit(2)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
    os.execv(str(gunicorn), [
        str(gunicorn), "--worker-class", "gthread",
        "--workers", os.environ.get("WEB_CONCURRENCY", "2"),
        "--threads", os.environ.get("GUNICORN_THREADS", "8"),
        "--bind", bind, "--access-logfile", "-", "--name", "espace-gateway",
        # JSON logs and multiprocess metrics; a file, not a module: importing the gateway package in the
        # master would import prometheus_client before its multiprocess folder is set.
        "--config", str(Path(__file__).with_name("gunicorn_conf.py")),
        "gateway:create_app()",
    ])


main()
