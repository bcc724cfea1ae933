"""The gateway's settings, read from config.yml with ${VAR:default} like the services'."""
import os
import secrets
from pathlib import Path

from espace_common.config import ConfigError, load_config

CONFIG_PATH = Path(__file__).resolve().parent.parent / "config.yml"


def load_settings(overrides=None):
    settings = load_config(os.environ.get("GATEWAY_CONFIG_FILE") or CONFIG_PATH)
    settings.update(overrides or {})
    if not settings.get("SECRET_KEY"):
        if not settings.get("LOCAL_RUN"):
            raise ConfigError("SECRET_KEY", "a secret key is required outside local runs (set SECRET_KEY).")
        settings["SECRET_KEY"] = secrets.token_hex(32)
    settings["SECRET_KEY_FALLBACKS"] = secret_key_fallbacks(settings.get("SECRET_KEY_FALLBACKS"))
    try:
        settings["RPC_TIMEOUT"] = float(settings["RPC_TIMEOUT"])
        settings["MONITOR_INTERVAL"] = float(settings["MONITOR_INTERVAL"])
        settings["PROBE_TIMEOUT"] = float(settings["PROBE_TIMEOUT"])
    except (TypeError, ValueError):
        raise ConfigError("RPC_TIMEOUT", "timeouts and intervals are numbers of seconds.") from None
    return settings


def secret_key_fallbacks(value):
    """The previous secret keys, from "text:old1,old2" (config.yml), a plain string or a list (tests)."""
    if isinstance(value, (list, tuple)):
        return [str(key) for key in value if str(key).strip()]
    text = str(value or "").removeprefix("text:")
    return [key.strip() for key in text.split(",") if key.strip()]
