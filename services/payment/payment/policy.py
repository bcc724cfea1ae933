"""The payment service's settings (config.yml): the Paybox account, its key, its servers, where it calls back.

The launcher calls check_config() before the service starts, so a missing or malformed setting stops it with one
sentence naming it (never a stack trace).
"""
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from espace_common.config import ConfigError

PREPROD, PRODUCTION, SANDBOX = "preprod", "production", "sandbox"
ENVIRONMENTS = (PREPROD, PRODUCTION, SANDBOX)

# Paybox's published key, shipped with the package; the operator may point PAYBOX_PUBLIC_KEY_FILE at another.
SHIPPED_PUBLIC_KEY = Path(__file__).resolve().parent / "data" / "paybox-pubkey.pem"
# config.yml writes these settings as "text:${VAR:...}" because YAML would otherwise read them again as numbers
# (a rang "032" would become the octal 26, a site or identifiant would lose its leading zeros).
TEXT_PREFIX = "text:"

SITE = re.compile(r"\d{7}")
RANG = re.compile(r"\d{2,3}")
IDENTIFIANT = re.compile(r"\d{1,9}")
HEX_KEY = re.compile(r"(?:[0-9A-Fa-f]{2}){16,}")


def _text(config, name):
    value = config.get(name)
    if value is None:
        return ""
    value = str(value).strip()
    return value[len(TEXT_PREFIX):].strip() if value.startswith(TEXT_PREFIX) else value


def _matching(config, name, pattern, sentence):
    value = _text(config, name)
    if not pattern.fullmatch(value):
        raise ConfigError(name, sentence)
    return value


def _url(config, name, default=None):
    value = _text(config, name) or (default or "")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(name, f"must be an http(s) URL, not {value!r}.")
    return value.rstrip("/")


def _seconds(config, name, default):
    try:
        value = float(_text(config, name) or default)
    except ValueError:
        raise ConfigError(name, "must be a number of seconds.") from None
    if not 0 < value <= 30:
        raise ConfigError(name, "must be between 0 and 30 seconds.")
    return value


def load_public_key(name, path):
    """The RSA public key in a PEM file, or ConfigError naming the setting."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(name, f"the key file {path} cannot be read ({exc.strerror}).") from None
    try:
        key = load_pem_public_key(data)
    except ValueError:
        raise ConfigError(name, f"{path} is not a PEM public key.") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ConfigError(name, f"{path} is not an RSA public key.")
    return key


@dataclass(frozen=True)
class PaymentSettings:
    """What the payment service needs to build Paybox's form and trust its notifications."""

    site: str
    rang: str
    identifiant: str
    secret: str  # the HMAC key, in hex as Paybox's back office gives it
    public_key: rsa.RSAPublicKey
    public_key_file: str
    environment: str
    main_url: str
    backup_url: str
    preprod_url: str
    sandbox_url: str
    public_url: str
    availability_timeout_s: float = 2.0

    @classmethod
    def from_config(cls, config):
        site = _matching(config, "PAYBOX_SITE", SITE, "must be the site number of 7 digits Paybox gave.")
        rang = _matching(config, "PAYBOX_RANG", RANG, "must be the rang number of 2 or 3 digits Paybox gave.")
        identifiant = _matching(config, "PAYBOX_IDENTIFIANT", IDENTIFIANT,
                                "must be the Paybox identifiant of 1 to 9 digits.")
        secret = _matching(config, "PAYBOX_SECRET", HEX_KEY,
                           "must be the HMAC key in hexadecimal (an even number of at least 32 hex digits), "
                           "as Paybox's back office gives it.")
        environment = _text(config, "PAYBOX_ENV").lower()
        if environment not in ENVIRONMENTS:
            raise ConfigError("PAYBOX_ENV", f"must be one of {', '.join(ENVIRONMENTS)}, not {environment!r}.")
        key_file = _text(config, "PAYBOX_PUBLIC_KEY_FILE") or str(SHIPPED_PUBLIC_KEY)
        return cls(
            site=site, rang=rang, identifiant=identifiant, secret=secret.upper(),
            public_key=load_public_key("PAYBOX_PUBLIC_KEY_FILE", key_file), public_key_file=key_file,
            environment=environment,
            main_url=_url(config, "PAYBOX_MAIN_URL", "https://tpeweb.paybox.com/cgi/MYchoix_pagepaiement.cgi"),
            backup_url=_url(config, "PAYBOX_BACKUP_URL", "https://tpeweb1.paybox.com/cgi/MYchoix_pagepaiement.cgi"),
            preprod_url=_url(config, "PAYBOX_PREPROD_URL",
                             "https://preprod-tpeweb.paybox.com/cgi/MYchoix_pagepaiement.cgi"),
            sandbox_url=_url(config, "PAYBOX_SANDBOX_URL", "http://127.0.0.1:8090/cgi/MYchoix_pagepaiement.cgi"),
            public_url=_url(config, "PUBLIC_URL", "http://localhost:8000"),
            availability_timeout_s=_seconds(config, "PAYBOX_AVAILABILITY_TIMEOUT_S", 2),
        )

    def notification_url(self):
        return f"{self.public_url}/api/v1/paybox/notifications"

    def return_url(self, payment_id):
        """Where the parent's browser comes back; the page only informs (the notification pays)."""
        return f"{self.public_url}/mon-compte/paiements/{payment_id}"


def check_config(config):
    """Called by the launcher before the service starts: a wrong setting stops it with one sentence."""
    PaymentSettings.from_config(config)
    # The family's data in its hands (issue #12): a retention period that is not a number of days stops the start.
    from .domain_gdpr import retention_from_config
    retention_from_config(config)
