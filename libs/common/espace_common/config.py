"""Configuration files with ${VAR:default} substitution, read the way nameko reads them."""
import os
import re
from pathlib import Path

import yaml

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}")


class ConfigError(Exception):
    """A setting is missing or wrong; the message is one sentence naming it."""

    def __init__(self, setting, sentence):
        super().__init__(f"{setting}: {sentence}")
        self.setting = setting
        self.sentence = sentence


def substitute(value, environ=None):
    """Replace each ${VAR:default} in a string; a lone reference keeps its YAML type."""
    environ = os.environ if environ is None else environ

    def lookup(match):
        name, default = match.group(1), match.group(2)
        return environ.get(name, default if default is not None else "")

    whole = _ENV_REFERENCE.fullmatch(value)
    replaced = _ENV_REFERENCE.sub(lookup, value)
    if whole and replaced != "":
        try:
            typed = yaml.safe_load(replaced)
        except yaml.YAMLError:
            return replaced
        # Only scalars are retyped: a value that parses to a mapping stays a string.
        return typed if isinstance(typed, (bool, int, float, str)) else replaced
    return replaced


def _walk(node, environ):
    if isinstance(node, dict):
        return {key: _walk(value, environ) for key, value in node.items()}
    if isinstance(node, list):
        return [_walk(value, environ) for value in node]
    if isinstance(node, str):
        return substitute(node, environ)
    return node


def load_config(path, environ=None):
    """Read a YAML configuration file and resolve its environment references."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError("CONFIG_FILE", f"the configuration file {path} does not exist.") from None
    return _walk(raw, environ)
