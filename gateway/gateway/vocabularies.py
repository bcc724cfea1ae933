"""The services' vocabularies (what their codes mean, the limits they enforce), asked of the service that owns each.

The owner is the only source: the gateway keeps no copy in code, only the owner's last answer, per process and for
a few minutes, so that a redeployed service's new words show without restarting the gateway. A page that needs a
vocabulary while its owner is down answers 503, like any page that needs that service.
"""
import time

from flask import current_app

from .services import services

KEEP_SECONDS = 300


def vocabulary(service):
    """The `vocabulary()` answer of a service, asked at most once every few minutes by this process."""
    kept = current_app.extensions.setdefault("vocabularies", {})
    asked_at, answer = kept.get(service, (None, None))
    now = time.monotonic()
    if asked_at is None or now - asked_at >= current_app.config.get("VOCABULARY_SECONDS", KEEP_SECONDS):
        answer = services().call(service, "vocabulary")
        kept[service] = (now, answer)  # a race between two threads only asks twice
    return answer


def password_rules():
    """The password rules identity enforces, in French, said before the parent types."""
    return vocabulary("identity")["password"]["rules"]


def agent_role_names():
    """{role code: its French name} as identity names them."""
    return vocabulary("identity")["agent_roles"]
