"""Event contracts: what facts travel between services and who listens to them.

A publisher declares the queues of every subscription to its events before it
publishes (nameko does not publish with `mandatory`, so an event sent before its
consumer's queue exists would be dropped).
"""
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .db import new_id


@dataclass(frozen=True)
class Event:
    """A fact, named in the past tense, that a service tells the others."""

    source: str
    name: str
    data: dict
    id: str = field(default_factory=new_id)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def type(self):
        return self.name

    def as_message(self):
        return {
            "id": self.id,
            "source": self.source,
            "type": self.name,
            "occurred_at": self.occurred_at.isoformat(),
            "data": self.data,
        }


@dataclass(frozen=True)
class Subscription:
    source: str
    event: str
    service: str
    method: str

    @property
    def queue_name(self):
        # The name nameko's SERVICE_POOL event handler gives its queue.
        return f"evt-{self.source}-{self.event}--{self.service}.{self.method}"


# Every event handler in the suite is listed here, so that its queue exists
# before the first event is published, whatever order services start in.
SUBSCRIPTIONS = (
    Subscription("identity", "family_registered", "canteen", "on_family_registered"),
    Subscription("identity", "family_registered", "childcare", "on_family_registered"),
    Subscription("identity", "family_registered", "billing", "on_family_registered"),
    # The payment service's card payments (issue #10); data: {transaction_id, invoice_id, amount_cents, paid_at}.
    Subscription("payment", "succeeded", "billing", "on_payment_succeeded"),
    # billing computes its invoicing runs in the background, on its own event.
    Subscription("billing", "invoicing_run_started", "billing", "on_invoicing_run_started"),
    # Billing draws and mails a run's invoices after the finalising transaction, in its own workers.
    Subscription("billing", "invoices_issued", "billing", "on_invoices_issued"),
    # Health record (issue #12): the allergy flags of a child's record, shown on the canteen's and the crèche's lists;
    # data: {child_id, allergies, has_allergies, has_treatment, updated_at}.
    Subscription("identity", "health_flags_changed", "canteen", "on_health_flags_changed"),
    Subscription("identity", "health_flags_changed", "childcare", "on_health_flags_changed"),
)


def subscriptions_to(source):
    return [s for s in SUBSCRIPTIONS if s.source == source]


# --- Broadcasts: facts every process of a listener must hear, or else trust nothing ---------------
#
# A broadcast has no durable queue: each listening process binds an exclusive,
# auto-deleted queue of its own for as long as its connection lives. A message sent
# while a process is not listening is lost for that process, so a listener treats the
# loss of its connection as "I may have missed something" and stops relying on what
# it learnt before (see gateway/principals.py).

CREDENTIALS_REVOKED = "credentials_revoked"


@dataclass(frozen=True)
class Broadcast:
    source: str
    event: str
    listener: str


BROADCASTS = (
    # The gateway's cache of resolved tokens forgets a token, or every token of a subject.
    Broadcast("identity", CREDENTIALS_REVOKED, "gateway"),
)


def credentials_revoked(subject_kind=None, subject_id=None, token_digest=None):
    """Identity revoked one token (token_digest), or every token of a subject (token_digest None).

    subject_kind is "parent", "agent" or "client"; token_digest is the SHA-256 hex
    digest of the token, never the token itself.
    """
    if token_digest is None and not (subject_kind and subject_id):
        raise ValueError("a revocation names a token or a subject")
    return Event("identity", CREDENTIALS_REVOKED,
                 {"subject_kind": subject_kind, "subject_id": subject_id, "token_digest": token_digest})
