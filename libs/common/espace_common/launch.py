"""Start a service: check its settings, then hand over to `nameko run`.

A wrong setting stops the process with one sentence naming it, never a stack trace.
"""
import importlib
import importlib.util
import os
import sys
from pathlib import Path

from .amqp import check_broker
from .config import ConfigError, load_config
from .db import check_database
from .migrations import schema_is_current


def service_root(package):
    """The folder that holds a service's config.yml and alembic.ini.

    Found from the package's import spec, so it does not matter whether the
    package was imported before (a test run alone, a fresh process).
    """
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ConfigError("service", f"no installed service package is named {package}.")
    return Path(spec.origin).resolve().parent.parent


def config_file(package):
    """CONFIG_FILE, or the config.yml beside the package's source (images set CONFIG_FILE)."""
    return Path(os.environ.get("CONFIG_FILE") or service_root(package) / "config.yml")


def alembic_ini(package):
    """ALEMBIC_INI, or the alembic.ini beside the package's source (images set ALEMBIC_INI)."""
    return Path(os.environ.get("ALEMBIC_INI") or service_root(package) / "alembic.ini")


def preflight(config, package):
    if not config.get("AMQP_URI"):
        raise ConfigError("AMQP_URI", "no broker is configured.")
    check_database(config.get("DATABASE_URL"))
    if not schema_is_current(alembic_ini(package), config["DATABASE_URL"]):
        raise ConfigError("DATABASE_URL", "the database schema is not up to date: run the migrations (alembic upgrade head) first.")
    check_broker(config["AMQP_URI"])
    service_check = getattr(importlib.import_module(f"{package}.policy"), "check_config", None) \
        if importlib.util.find_spec(f"{package}.policy") else None
    if service_check:
        service_check(config)


def main(package):
    """Entry point of `python -m <service>`."""
    __import__(package)
    config_path = config_file(package)
    try:
        config = load_config(config_path)
        preflight(config, package)
    except ConfigError as exc:
        print(f"{package} cannot start: {exc}", file=sys.stderr)
        sys.exit(2)
    nameko = Path(sys.executable).with_name("nameko")
    # Eventlet warns at every start that it is in maintenance; that is known (see the design).
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    # Its banner is no DeprecationWarning, and EVENTLET_TESTS is eventlet's only switch for it: without it the
    # first lines of a service's output would not be JSON like the others (docs/observability.md).
    os.environ.setdefault("EVENTLET_TESTS", "no-banner")
    os.execv(str(nameko), [str(nameko), "run", "--config", str(config_path), service_class_path(package)])


def service_class_path(package):
    """'identity.service:IdentityService': named, because mixins with entrypoints sit in the module too."""
    module = importlib.import_module(f"{package}.service")
    for name, value in vars(module).items():
        if isinstance(value, type) and getattr(value, "name", None) == package and value.__module__ == module.__name__:
            return f"{module.__name__}:{name}"
    raise ConfigError("service", f"{module.__name__} defines no service named {package}.")
