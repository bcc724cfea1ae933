"""The identity rules that are configuration: validity periods, throttles, where links point."""
from dataclasses import dataclass
from datetime import timedelta

from cryptography.fernet import Fernet

from espace_common.config import ConfigError

from .domain import ThrottlePolicy, TokenPolicy


def _number(config, name):
    try:
        value = float(config[name])
    except (KeyError, TypeError, ValueError):
        raise ConfigError(name, "must be a number.") from None
    if value <= 0:
        raise ConfigError(name, "must be positive.")
    return value


@dataclass(frozen=True)
class Policy:
    public_url: str
    letter_secret: bytes
    key_validity: timedelta
    reset_link: timedelta
    email_link: timedelta
    web_tokens: TokenPolicy
    api_tokens: TokenPolicy
    login_throttle: ThrottlePolicy
    ip_throttle: ThrottlePolicy
    key_throttle: ThrottlePolicy
    reset_throttle: ThrottlePolicy
    reset_mails: ThrottlePolicy

    @classmethod
    def from_config(cls, config):
        secret = (config.get("LETTER_SECRET") or "").encode("ascii")
        try:
            Fernet(secret)
        except ValueError:
            raise ConfigError("LETTER_SECRET", "must be a Fernet key (32 bytes in URL-safe base64), "
                                               "e.g. from: python -c 'from cryptography.fernet import Fernet; "
                                               "print(Fernet.generate_key().decode())'.") from None
        window = timedelta(minutes=_number(config, "IP_WINDOW_MINUTES"))
        lock = timedelta(minutes=_number(config, "LOGIN_LOCK_MINUTES"))
        api = timedelta(minutes=_number(config, "API_TOKEN_MINUTES"))
        return cls(
            public_url=str(config.get("PUBLIC_URL") or "http://localhost:8000").rstrip("/"),
            letter_secret=secret,
            key_validity=timedelta(days=_number(config, "KEY_VALIDITY_DAYS")),
            reset_link=timedelta(minutes=_number(config, "RESET_LINK_MINUTES")),
            email_link=timedelta(hours=_number(config, "EMAIL_LINK_HOURS")),
            web_tokens=TokenPolicy(idle=timedelta(minutes=_number(config, "WEB_SESSION_IDLE_MINUTES")),
                                   absolute=timedelta(hours=_number(config, "WEB_SESSION_MAX_HOURS"))),
            api_tokens=TokenPolicy(idle=api, absolute=api),
            login_throttle=ThrottlePolicy(int(_number(config, "LOGIN_MAX_FAILURES")), lock, lock),
            ip_throttle=ThrottlePolicy(int(_number(config, "IP_MAX_FAILURES")), window, window),
            key_throttle=ThrottlePolicy(int(_number(config, "KEY_MAX_FAILURES")), window, window),
            reset_throttle=ThrottlePolicy(int(_number(config, "RESET_MAX_REQUESTS")), window, window),
            reset_mails=ThrottlePolicy(int(_number(config, "RESET_MAILS_PER_HOUR")), timedelta(hours=1),
                                       timedelta(hours=1)),
        )

    def token_policy(self, kind):
        return self.web_tokens if kind == "web" else self.api_tokens

    def link(self, path, token):
        return f"{self.public_url}/{path}/{token}"


def check_config(config):
    """Called by the launcher before the service starts: a wrong setting stops it with one sentence."""
    Policy.from_config(config)
    # The family's data in its hands (issue #12): a retention period that is not a number of days stops the start.
    from .domain_gdpr import retention_from_config
    retention_from_config(config)
    from .domain_reminders import ReminderSettings  # issue #12's reminders
    ReminderSettings.from_config(config)
    from .domain_wallet import WalletSettings  # the document wallet (issue #12)
    WalletSettings.from_config(config)
